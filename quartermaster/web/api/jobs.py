"""GET /jobs: the jobs quartermaster created, newest first, filtered, a page at a time."""

from flask import Blueprint
from flask.typing import ResponseReturnValue

from quartermaster.web import context
from quartermaster.web.describe import describe
from quartermaster.web.inputs import query_args
from quartermaster.web.schemas import JobsQuery, JobsResponse

blueprint = Blueprint("jobs", __name__)
QUERY, RESPONSE = JobsQuery(), JobsResponse()  # made once: see status.py


@blueprint.get("/jobs")
@describe(
    summary="The jobs quartermaster created, newest first, a page at a time",
    query=JobsQuery,
    response=JobsResponse,
    errors=(400, 503),
)
def jobs() -> ResponseReturnValue:
    query = QUERY.load(query_args(repeatable=("status", "label")))
    return RESPONSE.dump(context.jobs().list_jobs(query))
