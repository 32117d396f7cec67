"""GET /status/<id>[?wait=S]: where a job stands. A JSON body on the GET is ignored."""

from flask import Blueprint, request
from flask.typing import ResponseReturnValue

from quartermaster.jobs.status import status_document
from quartermaster.jobs.tenancy import READ
from quartermaster.web import context
from quartermaster.web.client_gone import departure_check
from quartermaster.web.describe import describe
from quartermaster.web.inputs import query_args
from quartermaster.web.schemas import StatusQuery, StatusResponse, validate_path_reference

blueprint = Blueprint("status", __name__)
# Made once: building a schema costs more than using it, and using one is safe across requests.
QUERY = StatusQuery()


@blueprint.get("/status/<job_id>")
@describe(
    summary="Where a job stands; with wait, once it is final",
    query=StatusQuery,
    response=StatusResponse,
    errors=(400, 404, 409, 429, 503),
    right=READ,
)
def status(job_id: str) -> ResponseReturnValue:
    validate_path_reference(job_id)
    wait = QUERY.load(query_args())["wait"]
    if not wait:
        return status_document(context.jobs().job_status(context.actor(), job_id))
    with context.long_requests().held("wait"):
        found = context.jobs().job_status(
            context.actor(), job_id, wait, departure_check(request.environ)
        )
    return status_document(found)
