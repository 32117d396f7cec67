"""GET /logs/<id>: the job's output as text; with follow=true, streamed until the job ends."""

from flask import Blueprint, Response, request
from flask.typing import ResponseReturnValue

from quartermaster.jobs.tenancy import READ
from quartermaster.web import context
from quartermaster.web.client_gone import departure_check
from quartermaster.web.describe import describe
from quartermaster.web.inputs import query_args
from quartermaster.web.schemas import LogsQuery, validate_path_reference

blueprint = Blueprint("logs", __name__)
QUERY = LogsQuery()  # made once: see status.py
# No buffering proxy should hold a followed log back (nginx honours X-Accel-Buffering).
HEADERS = {"X-Accel-Buffering": "no", "Cache-Control": "no-store"}


@blueprint.get("/logs/<job_id>")
@describe(
    summary="A job's output; with follow, streamed until the job ends",
    query=LogsQuery,
    response="text/plain",
    errors=(400, 404, 409, 429, 503),
    right=READ,
)
def logs(job_id: str) -> ResponseReturnValue:
    validate_path_reference(job_id)
    options = QUERY.load(query_args())
    if not options.follow:
        return Response(
            context.jobs().job_logs(context.actor(), job_id, options), 200, HEADERS, "text/plain"
        )
    release = context.long_requests().admit("follow")  # held until the stream is closed
    try:
        chunks = context.jobs().job_logs(
            context.actor(), job_id, options, departure_check(request.environ)
        )
    except BaseException:
        release()
        raise
    response = Response(chunks, 200, HEADERS, "text/plain")
    response.call_on_close(release)
    return response
