"""The marshmallow schemas: what loads and validates a client's input, and what dumps the answers.

By kind, each in its module:

- `patterns.py`: the patterns and limits every refusal is stated in, and `is_text`;
- `fields.py`: the request fields marshmallow has no kind for (a command, registry
  credentials, JSON's and a query string's numbers);
- `requests.py`: the bases of the request schemas, /stop's body and the query strings;
- `run_request.py`: /run's body, loaded into a `JobSpec`;
- `documents.py`: response schemas derived from the domain's dataclasses;
- `responses.py`: the answers' schemas (most of them derived) and the error's.

The endpoints import the schemas from here; what they are made of, from its module.
"""

from quartermaster.web.schemas.fields import validate_path_reference
from quartermaster.web.schemas.requests import JobsQuery, LogsQuery, StatusQuery, StopRequest
from quartermaster.web.schemas.responses import (
    ErrorResponse,
    HealthResponse,
    HistoryResponse,
    JobIdResponse,
    JobsResponse,
    NodesResponse,
    ReadyResponse,
    StatusResponse,
)
from quartermaster.web.schemas.run_request import RunRequest

__all__ = [
    "ErrorResponse",
    "HealthResponse",
    "HistoryResponse",
    "JobIdResponse",
    "JobsQuery",
    "JobsResponse",
    "LogsQuery",
    "NodesResponse",
    "ReadyResponse",
    "RunRequest",
    "StatusQuery",
    "StatusResponse",
    "StopRequest",
    "validate_path_reference",
]
