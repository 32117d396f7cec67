"""What a request sends: its JSON body and its query string, or a 4xx that says what is wrong."""

import re

from flask import request
from marshmallow import ValidationError, fields, validate

from quartermaster.jobs.tenancy import NAME_ERROR, NAME_PATTERN
from quartermaster.web.errors import ApiError

MAX_IDEMPOTENCY_KEY_LENGTH = 255
# Printable ASCII, no space at either end: HTTP servers (gunicorn) drop those, so they never arrive.
IDEMPOTENCY_KEY_PATTERN = re.compile(r"^[!-~](?:[ -~]*[!-~])?\Z")
# The header as the document shows it (api/run.py's @describe) and as idempotency_key() reads it.
IDEMPOTENCY_KEY = fields.String(
    validate=[
        validate.Length(min=1, max=MAX_IDEMPOTENCY_KEY_LENGTH),
        validate.Regexp(IDEMPOTENCY_KEY_PATTERN),
    ],
    metadata={"description": "a retried /run with the same key returns the same job"},
)

# The header as the document shows it (api/jobs.py's @describe): any text (RFC 9110's grammar is
# not enforced: what matches no tag of the page gets the page).
IF_NONE_MATCH = fields.String(
    metadata={
        "description": "the ETag of a page this client holds: 304, and no body, while the page "
        "is still that (a live job's change shows once the reaper has recorded it, within "
        "REAPER_INTERVAL)"
    }
)


def parsed_json() -> object:
    """The JSON body parsed (any JSON value), or None when there is none or it is malformed."""
    if not request.is_json:
        return None
    _refuse_oversized_chunked_body()
    try:
        return request.get_json(silent=True)
    except RecursionError:
        raise ApiError(400, "the body is nested too deeply") from None


def _refuse_oversized_chunked_body() -> None:
    """A chunked body announces no length, and Werkzeug quietly stops reading it at the limit.
    Asking for one byte past the limit raises its 413 when the body goes on."""
    limit = request.max_content_length
    if limit is not None and len(request.get_data(cache=True)) >= limit:
        request.stream.read(1)


def json_object() -> dict:
    if not request.is_json:
        raise ApiError(415, "the body must be JSON with Content-Type: application/json")
    body = parsed_json()
    if body is None:
        raise ApiError(400, "the body is not valid JSON")
    if not isinstance(body, dict):
        raise ApiError(400, "the body must be a JSON object")
    return body


def query_args(repeatable: tuple[str, ...] = ()) -> dict:
    """The query string as a dict; names in `repeatable` map to lists, the rest to one value.

    `token` is left out: the token check reads it.
    """
    args: dict[str, str | list[str]] = {}
    for name in request.args:
        if name == "token":
            continue
        values = request.args.getlist(name)
        if name in repeatable:
            args[name] = values
        elif len(values) > 1:
            raise ApiError(400, f"{name} may be given once", {name: ["given more than once"]})
        else:
            args[name] = values[0]
    return args


def idempotency_key() -> str | None:
    """The Idempotency-Key header: a retried /run with the same key is the same job."""
    key = request.headers.get("Idempotency-Key")
    if key is None:
        return None
    try:
        return IDEMPOTENCY_KEY.deserialize(key)
    except ValidationError:
        rule = f"must be 1 to {MAX_IDEMPOTENCY_KEY_LENGTH} printable ASCII characters"
        message = {"Idempotency-Key": [f"{rule}, neither first nor last a space"]}
        raise ApiError(400, "invalid Idempotency-Key", message) from None


def path_name(value: str, field: str = "name") -> str:
    """A tenant's or key's name from the path, or a 400 naming `field`."""
    if not NAME_PATTERN.match(value):
        raise ApiError(400, f"invalid request: {field}", {field: [NAME_ERROR]})
    return value
