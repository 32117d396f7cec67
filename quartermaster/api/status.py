"""GET /status/<id>[?wait=S]: where a job stands. A JSON body on the GET is ignored."""

from flask import Blueprint

from ..inputs import query_args
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
    errors=(400, 404, 409, 503),
)
def status(job_id: str):
    validate_path_reference(job_id)
    query = QUERY.load(query_args())
    return RESPONSE.dump(current_swarm().job_status(job_id, wait=query["wait"]))
