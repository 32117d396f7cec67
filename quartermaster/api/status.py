"""GET /status/<id>[?wait=S]: where a job stands. A JSON body on the GET is ignored."""

from flask import Blueprint

from ..inputs import query_args
from ..schemas import StatusQuery, StatusResponse, validate_path_reference
from . import current_swarm, describe

blueprint = Blueprint("status", __name__)


@blueprint.get("/status/<job_id>")
@describe(
    summary="Where a job stands; with wait, once it is final",
    query=StatusQuery,
    response=StatusResponse,
    errors=(400, 404, 503),
)
def status(job_id: str):
    validate_path_reference(job_id)
    query = StatusQuery().load(query_args())
    return StatusResponse().dump(current_swarm().job_status(job_id, wait=query["wait"]))
