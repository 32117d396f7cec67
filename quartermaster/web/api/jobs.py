"""GET /jobs: the jobs quartermaster created, newest first, filtered, a page at a time."""

from flask import Blueprint, Response, request
from flask.typing import ResponseReturnValue

from quartermaster.jobs.tenancy import READ
from quartermaster.web import context
from quartermaster.web.describe import describe
from quartermaster.web.inputs import IF_NONE_MATCH, query_args
from quartermaster.web.schemas import JobsQuery, JobsResponse

blueprint = Blueprint("jobs", __name__)
QUERY, RESPONSE = JobsQuery(), JobsResponse()  # made once: see status.py


@blueprint.get("/jobs")
@describe(
    summary="The jobs quartermaster created, newest first, a page at a time",
    query=JobsQuery,
    response=JobsResponse,
    errors=(400, 503),
    right=READ,
    headers=(("If-None-Match", IF_NONE_MATCH),),
    not_modified=True,
)
def jobs() -> ResponseReturnValue:
    query = QUERY.load(query_args(repeatable=("status", "label")))
    answer = context.jobs().list_jobs(context.actor(), query, request.headers.get("If-None-Match"))
    if answer.page is None:
        return Response(status=304, headers={"ETag": answer.tag})
    return RESPONSE.dump(answer.page), 200, {"ETag": answer.tag}
