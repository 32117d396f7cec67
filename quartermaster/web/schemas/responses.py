"""The successful answers' schemas and the error's: most derived from the domain's dataclasses
(documents.py), so an answer's field is declared once."""

from marshmallow import Schema, fields

from quartermaster.jobs.history import Transition
from quartermaster.jobs.nodes import NodeSummary, SwarmHealth
from quartermaster.jobs.query import JobPage
from quartermaster.jobs.status import JobStatus
from quartermaster.web.schemas.documents import document_fields, document_schema


class Answer(Schema):
    """Base of the successful JSON answers: `success` first, then their own fields."""

    success = fields.Boolean(dump_default=True)


class JobIdResponse(Answer):
    id = fields.String(required=True)


JobDocument = document_schema(JobStatus, "JobDocument")


# The job's fields, then `success`: what jobs/status.py's status_document makes, which /status
# and the callbacks send (test_documents.py holds the two equal).
StatusResponse = Schema.from_dict(
    {**document_fields(JobStatus), "success": fields.Boolean(dump_default=True)},
    name="StatusResponse",
)


JobsResponse = document_schema(JobPage, "JobsResponse", Answer, nested={JobStatus: JobDocument})
NodeDocument = document_schema(NodeSummary, "NodeDocument")


class RecordedRequestDocument(Schema):
    """The /run request as a record keeps it (jobs/history.py's recorded_request), in /run's
    field names: never `auth`; `env` values only with KEEP_ENV_VALUES (otherwise null); for a
    job made without the store (imported), what its service says."""

    image = fields.String()
    command = fields.List(fields.String(), allow_none=True)
    name = fields.String(allow_none=True, metadata={"description": "null: one was generated"})
    labels = fields.Dict(keys=fields.String(), values=fields.String())
    env = fields.Dict(keys=fields.String(), values=fields.String(allow_none=True))
    memory = fields.Integer(attribute="memory_mb", allow_none=True)
    cpus = fields.Float(allow_none=True)
    constraints = fields.List(fields.String())
    type = fields.String()
    completions = fields.Integer()
    parallelism = fields.Integer()
    retries = fields.Integer()
    timeout = fields.Integer(allow_none=True)
    ttl = fields.Integer(allow_none=True)
    callback_url = fields.String(allow_none=True)


TransitionDocument = document_schema(Transition, "TransitionDocument")


class HistoryResponse(Answer):
    id = fields.String(required=True)
    request = fields.Nested(RecordedRequestDocument)
    timeline = fields.List(fields.Nested(TransitionDocument))


class NodesResponse(Answer):
    nodes = fields.List(fields.Nested(NodeDocument))


class ReadyResponse(Answer):
    ready = fields.Boolean(dump_default=True)


SwarmCounts = document_schema(SwarmHealth, "SwarmCounts")


class ReaperLiveness(Schema):
    state = fields.String(
        metadata={
            "enum": ["ok", "off"],
            "description": "off: this instance runs no reaper (REAPER_INTERVAL=0)",
        }
    )
    seconds_since_progress = fields.Float(
        metadata={"description": "since the reaper's last action or round (absent when off)"}
    )


class StoreFigures(Schema):
    state = fields.String(
        metadata={
            "enum": ["ok", "unreachable"],
            "description": "unreachable: the record store did not answer when last measured",
        }
    )
    records = fields.Integer(metadata={"description": "records kept (absent when unreachable)"})
    log_bytes = fields.Integer(
        metadata={"description": "bytes of kept logs (absent when unreachable)"}
    )


class HealthResponse(Answer):
    docker = fields.String(dump_default="ok")
    swarm = fields.Nested(SwarmCounts)
    reaper = fields.Nested(ReaperLiveness)
    store = fields.Nested(
        StoreFigures,
        metadata={"description": "what the record store holds, measured at most a minute ago"},
    )


class ErrorResponse(Schema):
    success = fields.Boolean(dump_default=False)
    code = fields.Integer(required=True)
    error = fields.String(required=True)
    fields_ = fields.Dict(data_key="fields", attribute="fields")
    request_id = fields.String()
