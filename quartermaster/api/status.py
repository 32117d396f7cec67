"""GET /status/<id>[?wait=S]: where a job stands. A JSON body on the GET is ignored."""

from flask import Blueprint, request

from ..client_gone import departure_check
from ..inputs import query_args
from ..long_requests import long_requests
from ..schemas import StatusQuery, StatusResponse, validate_path_reference
from . import current_swarm, describe

blueprint = Blueprint("status", __name__)
# Made once: building a schema costs more than using it, and using one is safe across requests.
QUERY, RESPONSE = StatusQuery(), StatusResponse()


@blueprint.get("/status/<job_id>")
@describe(
    summary="Where a job stands; with wait, once it is final",
    query=StatusQuery,
    response=StatusResponse,
    errors=(400, 404, 409, 429, 503),
)
def status(job_id: str):
    validate_path_reference(job_id)
    wait = QUERY.load(query_args())["wait"]
    if not wait:
        return RESPONSE.dump(current_swarm().job_status(job_id))
    with long_requests().held("wait"):
        found = current_swarm().job_status(job_id, wait, departure_check(request.environ))
    return RESPONSE.dump(found)
