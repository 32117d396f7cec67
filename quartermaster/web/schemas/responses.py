"""The successful answers' schemas and the error's: most derived from the domain's dataclasses
(documents.py), so an answer's field is declared once."""

from marshmallow import Schema, fields

from quartermaster.jobs.history import NOT_RECORDED, Transition
from quartermaster.jobs.nodes import NodeSummary, SwarmHealth
from quartermaster.jobs.query import JobPage
from quartermaster.jobs.spec import JobSpec
from quartermaster.jobs.status import JobStatus
from quartermaster.web.schemas.documents import document_fields, document_schema
from quartermaster.web.schemas.run_request import RunRequest


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


def _recorded_request_fields() -> dict[str, fields.Field]:
    """The /run request as a record keeps it (jobs/history.py's recorded_request): JobSpec's
    fields but NOT_RECORDED, under the names /run takes them by."""
    run_names = {
        name: field.data_key for name, field in RunRequest().fields.items() if field.data_key
    }
    recorded = document_fields(JobSpec, leave_out=NOT_RECORDED, data_keys=run_names)
    # Where a record says less than JobSpec holds: env's values only with KEEP_ENV_VALUES.
    recorded["env"] = fields.Dict(
        keys=fields.String(),
        values=fields.String(allow_none=True),
        data_key=recorded["env"].data_key,
        metadata={"description": "each value null unless the server keeps them (KEEP_ENV_VALUES)"},
    )
    recorded["name"].metadata["description"] = (
        "the one generated if /run gave none (null only in records from before that was kept)"
    )
    return recorded


# For a job made without the store (imported), what its service says (swarm/spec.py's request_of).
RecordedRequestDocument = Schema.from_dict(
    _recorded_request_fields(), name="RecordedRequestDocument"
)


TransitionDocument = document_schema(Transition, "TransitionDocument")


class HistoryResponse(Answer):
    id = fields.String(required=True)
    tenant = fields.String(allow_none=True, metadata={"description": "null: the operator's"})
    request = fields.Nested(RecordedRequestDocument)
    timeline = fields.List(fields.Nested(TransitionDocument))


class NodesResponse(Answer):
    nodes = fields.List(fields.Nested(NodeDocument))
    as_of = fields.String(
        required=True,
        metadata={
            "description": "when the swarm showed this: at most one reaper round ago "
            "(REAPER_INTERVAL), read again when older"
        },
    )


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
