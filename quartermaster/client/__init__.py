"""The Python client of quartermaster's API. It needs only the standard library and `requests`
(a laptop installs it without the server's dependencies), and imports no other part of the
package."""

from quartermaster.client.client import DEFAULT_URL, Client
from quartermaster.client.errors import (
    Conflict,
    ConnectionFailed,
    Forbidden,
    InvalidRequest,
    NotFound,
    QuartermasterError,
    Redirected,
    ServerFailed,
    TooManyRequests,
    Unauthorized,
    Unavailable,
)
from quartermaster.client.models import (
    FINAL_STATUSES,
    STATUSES,
    AuditEntry,
    History,
    Identity,
    Job,
    Key,
    Node,
    Template,
    TemplateRun,
    Tenant,
    TimelineEntry,
    Usage,
)
from quartermaster.client.transport import PlainHttpTokenWarning

__all__ = [
    "DEFAULT_URL",
    "FINAL_STATUSES",
    "STATUSES",
    "AuditEntry",
    "Client",
    "Conflict",
    "ConnectionFailed",
    "Forbidden",
    "History",
    "Identity",
    "InvalidRequest",
    "Job",
    "Key",
    "Node",
    "NotFound",
    "PlainHttpTokenWarning",
    "QuartermasterError",
    "Redirected",
    "ServerFailed",
    "Template",
    "TemplateRun",
    "Tenant",
    "TimelineEntry",
    "TooManyRequests",
    "Unauthorized",
    "Unavailable",
    "Usage",
]
