"""What can go wrong talking to quartermaster, as exceptions carrying the server's answer.

Every error answer of the server is `{"success": false, "code": N, "error": "...", "request_id":
"...", "fields": {...}}`; `error_for` turns it into the exception of its code (a subclass per
meaning, so a caller catches `NotFound` rather than comparing numbers). An answer that is not
JSON (a proxy's HTML 502) still becomes one, with a short excerpt of its text.
"""

from typing import Any


class QuartermasterError(Exception):
    """An answer of the server that is not a success, or no answer at all (`code` None)."""

    def __init__(
        self,
        message: str,
        code: int | None = None,
        fields: dict[str, Any] | None = None,
        request_id: str | None = None,
        retry_after: float | None = None,
        document: dict[str, Any] | None = None,
    ):
        super().__init__(message)
        self.message = message
        self.code = code
        self.fields = fields or {}
        self.request_id = request_id
        self.retry_after = retry_after  # seconds, from a Retry-After header
        self.document = document  # the error answer's JSON as sent, when it was JSON

    def __str__(self) -> str:
        text = self.message if self.code is None else f"{self.message} (HTTP {self.code})"
        if self.fields:
            text += ": " + "; ".join(f"{name}: {_flat(why)}" for name, why in self.fields.items())
        return text


class InvalidRequest(QuartermasterError):
    """400: a field or parameter the server refused; `fields` names each."""


class Unauthorized(QuartermasterError):
    """401: the token or key is missing, wrong, revoked or expired."""


class Forbidden(QuartermasterError):
    """403: the key lacks the right, or the job breaks its tenant's policy (`fields` names
    what broke it)."""


class NotFound(QuartermasterError):
    """404: no such job, tenant or key (or route)."""


class Conflict(QuartermasterError):
    """409: a name in use, an Idempotency-Key reused differently, an ambiguous reference."""


class TooManyRequests(QuartermasterError):
    """429: too many waits and followed logs at once; `retry_after` says when to retry."""


class Unavailable(QuartermasterError):
    """503: the server cannot reach Docker or the store now."""


class ServerFailed(QuartermasterError):
    """Any other 5xx: a bug of the server, or a proxy in front of it that failed."""


class Redirected(QuartermasterError):
    """3xx: the server (or a proxy before it) points elsewhere. No redirect is followed: a
    followed one would take the request's body (a job's env values, its registry `auth`) to
    another server. `location` is where it pointed (None if the answer named nowhere)."""

    def __init__(self, code: int, location: str | None, request_id: str | None = None):
        where = f"to {location}" if location else "with no Location"
        super().__init__(
            f"the server answered a redirect {where}; redirects are not followed "
            "(set the URL to where the server is)",
            code,
            request_id=request_id,
        )
        self.location = location


class ConnectionFailed(QuartermasterError):
    """No answer: the server could not be reached, or did not answer in time (`code` None)."""


_ERROR_OF_CODE: dict[int, type[QuartermasterError]] = {
    400: InvalidRequest,
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    409: Conflict,
    429: TooManyRequests,
    503: Unavailable,
}
EXCERPT_CHARS = 200  # of an answer that is not JSON


def error_for(code: int, document: Any, text: str, request_id: str | None) -> QuartermasterError:
    """The exception for an error answer: `document` its parsed JSON (None if it was not
    JSON), `text` its body, `request_id` from its X-Request-ID header."""
    kind = _ERROR_OF_CODE.get(code) or (ServerFailed if code >= 500 else QuartermasterError)
    if isinstance(document, dict) and isinstance(document.get("error"), str):
        fields = document.get("fields")
        return kind(
            document["error"],
            code,
            fields if isinstance(fields, dict) else None,
            document.get("request_id") or request_id,
            document=document,
        )
    excerpt = " ".join(text.split())[:EXCERPT_CHARS] or "(empty body)"
    return kind(f"an answer that is not quartermaster's: {excerpt}", code, None, request_id)


def _flat(why: Any) -> str:
    if isinstance(why, list):
        return " ".join(map(str, why))
    return str(why)
