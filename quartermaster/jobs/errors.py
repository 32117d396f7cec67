"""What can go wrong, each error with the HTTP status it is answered with.

`http_status` is a class attribute: a subclass answers as its base unless it says otherwise, and
the HTTP layer (web/errors.py) answers every `DomainError` with it, in one handler.
"""

import math


class DomainError(Exception):
    """An error a client is told of: its message is safe to show, `http_status` is the answer's."""

    http_status = 500


class SwarmError(DomainError):
    """Something went wrong with the swarm (a kind not told apart below answers 502)."""

    http_status = 502


class DockerUnavailable(SwarmError):
    """The Docker daemon cannot be reached (socket missing, refused, timed out)."""

    http_status = 503


class NotASwarmManager(SwarmError):
    """Docker answers, but this node cannot manage swarm services."""

    http_status = 503


class NameConflict(SwarmError):
    """Another service already uses the requested name."""

    http_status = 409


class IdempotencyConflict(SwarmError):
    """An Idempotency-Key already made a job from a different request."""

    http_status = 409


class DockerRejected(SwarmError):
    """Docker refused the request for a reason of its own; the message is Docker's."""

    http_status = 400


class JobLookupError(DomainError):
    """A job reference that does not name exactly one job, in the swarm (live jobs) or in the
    record store (their history): both look jobs up and raise these. Docker's own "no such
    object" (a 404) is a `JobNotFound` too: a swarm call that may meet a vanished service
    catches SWARM_CALL_ERRORS."""

    http_status = 404


class JobNotFound(JobLookupError):
    """No job (service created by quartermaster, or record) matches the reference."""

    http_status = 404


class AmbiguousReference(JobLookupError):
    """More than one job matches the reference (a name and another job's id prefix, or an id
    prefix of several jobs): refused rather than guessed."""

    http_status = 409


# What a call into the swarm may raise: its own failures, and JobNotFound for a vanished service.
SWARM_CALL_ERRORS = (SwarmError, JobLookupError)


class StoreError(DomainError):
    """The record store (the database of every job's history) cannot be used now: what needs
    the history answers 503 (but a value it cannot hold: 400), what the swarm alone can do goes
    on."""

    http_status = 503


class StoreUnavailable(StoreError):
    """The record store cannot be reached (down, refused, timed out)."""


class StoreSchemaMismatch(StoreError):
    """The record store answers, but its tables are not those this quartermaster declares: no
    retry mends that (the log names each difference)."""


class StoreRefused(StoreError):
    """The record store cannot hold a value (text that is not UTF-8, a NUL in PostgreSQL's
    text): one the request's validation should have refused, and never an outage."""

    http_status = 400


class Forbidden(DomainError):
    """The actor may not do this: its key lacks the right, or the job breaks its tenant's policy
    (`fields` names what broke it)."""

    http_status = 403

    def __init__(
        self, message: str, fields: dict[str, list[str]] | None = None, audited: bool = False
    ):
        super().__init__(message)
        self.fields = fields
        self.audited = audited  # its audit entry is written (a /run its tenant's policy refused)


class InvalidInput(DomainError):
    """A request well formed that the use case refuses for what it says (`fields` names what),
    as validation would."""

    http_status = 400

    def __init__(self, message: str, fields: dict[str, list[str]] | None = None):
        super().__init__(message)
        self.fields = fields


class NeverPlaced(InvalidInput):
    """No node of the swarm could ever take the job, even with nothing else on it (`fields`
    names what is at fault): refused rather than queued for ever."""


class TemplateNotFound(DomainError):
    """No template of that name among the actor's (another tenant's is one that does not
    exist)."""

    http_status = 404


class TemplateConflict(DomainError):
    """A template of that name exists already (among its owner's)."""

    http_status = 409


class TooManyRuns(DomainError):
    """A tenant's quota refuses the /run: its queue is full (`quota.queued`), or it made its
    `runs_per_minute` already (`retry_after`: seconds until one more is taken)."""

    http_status = 429

    def __init__(self, message: str, retry_after: float | None = None, audited: bool = False):
        super().__init__(message)
        self.retry_after = retry_after
        self.audited = audited

    @property
    def headers(self) -> dict[str, str]:
        if self.retry_after is None:
            return {}
        return {"Retry-After": str(max(1, math.ceil(self.retry_after)))}


class TenantNotFound(DomainError):
    """No tenant of that name, or no key of that name in the tenant (as the actor may see)."""

    http_status = 404


class TenantConflict(DomainError):
    """A tenant or key name in use, or a tenant removed while it has live jobs."""

    http_status = 409
