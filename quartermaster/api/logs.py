"""GET /logs/<id>: the job's output as text; with follow=true, streamed until the job ends."""

from flask import Blueprint, Response, stream_with_context

from ..inputs import query_args
from ..schemas import LogsQuery, validate_path_reference
from . import current_swarm, describe

blueprint = Blueprint("logs", __name__)
QUERY = LogsQuery()  # made once: see status.py


@blueprint.get("/logs/<job_id>")
@describe(
    summary="A job's output; with follow, streamed until the job ends",
    query=LogsQuery,
    response="text/plain",
    errors=(400, 404, 409, 503),
)
def logs(job_id: str):
    validate_path_reference(job_id)
    options = QUERY.load(query_args())
    chunks = current_swarm().job_logs(job_id, options)
    # No buffering proxy should hold a followed log back (nginx honours this header).
    headers = {"X-Accel-Buffering": "no", "Cache-Control": "no-store"}
    return Response(stream_with_context(chunks), mimetype="text/plain", headers=headers)
