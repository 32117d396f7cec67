"""The error contract: one JSON shape for every failure, and what each status means.

`{"success": false, "code": N, "error": "...", "fields": {...}, "request_id": "..."}`: `fields`
(field name -> messages) only when a request was invalid, `request_id` in every answer of the app
(gunicorn's own answers, written before there is a request, have none). Every error that
declares its status (`DomainError`: the domain's and `ApiError`) is answered with it, a
subclass as its base; unexpected errors are logged with the request id and answered with a 500
that carries the id but never a traceback.
"""

import json
import logging

from flask import Flask, Response, g, jsonify
from flask.typing import HeadersValue
from marshmallow import ValidationError
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from quartermaster.jobs.errors import DomainError
from quartermaster.web.redaction import redact_query_tokens
from quartermaster.web.schemas import ErrorResponse

log = logging.getLogger(__name__)

# What each error status means, for the document (a route lists its statuses in its @describe).
ERROR_DESCRIPTIONS = {
    400: "invalid request: `fields` names each bad field or parameter (every string must be "
    "UTF-8 text without NUL: JSON's lone surrogates, like \\ud800, are refused)",
    401: "token or key missing, unknown, revoked or expired (one answer for each)",
    403: "the key lacks the right for this route, or the job breaks its tenant's policy "
    "(`fields` names what broke it)",
    404: "no such job (or tenant, or key)",
    409: "conflict: the name is in use, the Idempotency-Key was used for another request, or "
    "the job reference matches more than one job (use the full id)",
    413: "body over 1 MiB",
    415: "body is not JSON",
    429: "too many long requests (`?wait`, `?follow`) in flight on this worker, or a /run past "
    "its tenant's quota (`queued`: its queue is full; `runs_per_minute`): retry after the "
    "`Retry-After` header's seconds when it has one",
    500: "internal error (logged with the request id)",
    502: "the swarm failed in a way quartermaster does not tell apart",
    503: "Docker unreachable, or not a swarm manager, or not ready",
}


class ApiError(DomainError):
    """A refusal of the HTTP layer's own: its status, and the fields and headers it answers with."""

    def __init__(
        self,
        http_status: int,
        message: str,
        fields: dict | None = None,
        headers: dict | None = None,
    ):
        super().__init__(message)
        self.http_status = http_status
        self.fields = fields
        self.headers = headers or {}


ERROR_RESPONSE = ErrorResponse()  # made once: a schema copies its fields when made


def error_document(
    code: int, message: str, fields: dict | None = None, request_id: str | None = None
) -> dict:
    """The one JSON error shape, for the app's answers and gunicorn's own (server/worker.py)."""
    document: dict = {"code": code, "error": message}
    if fields:
        document["fields"] = fields
    if request_id is not None:
        document["request_id"] = request_id
    return ERROR_RESPONSE.dump(document)


MAX_DETAIL = 200  # characters of gunicorn's explanation kept (it may echo the request line)


def raw_error_answer(code: int, reason: str, detail: str) -> bytes:
    """A whole HTTP answer in the JSON error shape, for the requests gunicorn answers itself
    (server/worker.py): `detail` is gunicorn's explanation, which may quote the request line."""
    detail = redact_query_tokens(detail)[:MAX_DETAIL]
    body = json.dumps(error_document(code, f"{reason}: {detail}" if detail else reason)).encode()
    head = (
        f"HTTP/1.1 {code} {reason}\r\nConnection: close\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    return head.encode("latin-1") + body


def json_error(
    code: int, message: str, fields: dict | None = None, headers: HeadersValue = ()
) -> tuple[Response, int, HeadersValue]:
    """An error answer of the app: the shape with this request's id, the status, any headers."""
    return jsonify(error_document(code, message, fields, g.get("request_id"))), code, headers


def body_limit_message(limit: int) -> str:
    size = f"{limit // 1024**2} MiB" if limit % 1024**2 == 0 else f"{limit} bytes"
    return f"the body is over the limit of {size}"


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(DomainError)
    def declared_error(error: DomainError):
        if error.http_status == 503:
            log.warning("unavailable: %s", error)
        if getattr(error, "audited", False):
            g.refusal_audited = True  # see auth.py: a key's 403 is audited once
        fields, headers = getattr(error, "fields", None), getattr(error, "headers", {})
        return json_error(error.http_status, str(error), fields, headers)

    @app.errorhandler(ApiError)
    def api_error(error: ApiError):
        return json_error(error.http_status, str(error), error.fields, error.headers)

    @app.errorhandler(ValidationError)
    def validation_error(error: ValidationError):
        messages = error.messages if isinstance(error.messages, dict) else {"_body": error.messages}
        names = ", ".join(sorted(messages))
        return json_error(400, f"invalid request: {names}", messages)

    @app.errorhandler(RequestEntityTooLarge)
    def body_too_large(error: RequestEntityTooLarge):
        return json_error(413, body_limit_message(app.config["MAX_CONTENT_LENGTH"]))

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        # The exception's own headers but its HTML type: a 405's Allow (RFC 9110 requires it).
        headers = [(name, value) for name, value in error.get_headers() if name != "Content-Type"]
        return json_error(error.code or 500, error.description or error.name, headers=headers)

    @app.errorhandler(Exception)
    def unexpected_error(error: Exception):
        log.exception("unexpected error (request %s)", g.get("request_id"))
        return json_error(500, "internal error; quote the request id when reporting it")
