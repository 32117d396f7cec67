"""One JSON error shape for every failure: `{"success": false, "code": N, "error": "..."}`.

Validation errors add `fields` (field name -> messages). Unexpected errors are logged with the
request id and answered with a 500 that carries the id but never a traceback.
"""

import logging

from flask import Flask, g, jsonify
from marshmallow import ValidationError
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from quartermaster.jobs import errors as job_errors
from quartermaster.web.schemas import ErrorResponse

log = logging.getLogger(__name__)

_STATUS_OF_SWARM_ERROR = {
    job_errors.DockerUnavailable: 503,
    job_errors.NotASwarmManager: 503,
    job_errors.JobNotFound: 404,
    job_errors.AmbiguousReference: 409,
    job_errors.NameConflict: 409,
    job_errors.IdempotencyConflict: 409,
    job_errors.DockerRejected: 400,
}


class ApiError(Exception):
    def __init__(
        self, code: int, message: str, fields: dict | None = None, headers: dict | None = None
    ):
        super().__init__(message)
        self.code = code
        self.message = message
        self.fields = fields
        self.headers = headers or {}


ERROR_RESPONSE = ErrorResponse()  # made once: a schema copies its fields when made


def json_error(code: int, message: str, fields: dict | None = None):
    body = {"code": code, "error": message, "request_id": g.get("request_id")}
    if fields:
        body["fields"] = fields
    return jsonify(ERROR_RESPONSE.dump(body)), code


def body_limit_message(limit: int) -> str:
    size = f"{limit // 1024**2} MiB" if limit % 1024**2 == 0 else f"{limit} bytes"
    return f"the body is over the limit of {size}"


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(ApiError)
    def api_error(error: ApiError):
        body, code = json_error(error.code, error.message, error.fields)
        return body, code, error.headers

    @app.errorhandler(ValidationError)
    def validation_error(error: ValidationError):
        messages = error.messages if isinstance(error.messages, dict) else {"_body": error.messages}
        names = ", ".join(sorted(messages))
        return json_error(400, f"invalid request: {names}", messages)

    @app.errorhandler(job_errors.SwarmError)
    def swarm_error(error: job_errors.SwarmError):
        code = _STATUS_OF_SWARM_ERROR.get(type(error), 502)
        if code == 503:
            log.warning("docker unavailable: %s", error)
        return json_error(code, str(error))

    @app.errorhandler(RequestEntityTooLarge)
    def body_too_large(error: RequestEntityTooLarge):
        return json_error(413, body_limit_message(app.config["MAX_CONTENT_LENGTH"]))

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        body, code = json_error(error.code or 500, error.description or error.name)
        # The exception's own headers but its HTML type: a 405's Allow (RFC 9110 requires it).
        headers = [(name, value) for name, value in error.get_headers() if name != "Content-Type"]
        return body, code, headers

    @app.errorhandler(Exception)
    def unexpected_error(error: Exception):
        log.exception("unexpected error (request %s)", g.get("request_id"))
        return json_error(500, "internal error; quote the request id when reporting it")
