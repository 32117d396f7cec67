"""GET /status/<id>: where a job stands. A JSON body on the GET is tolerated and ignored."""

from flask import Blueprint
from marshmallow import ValidationError

from ..schemas import StatusResponse, validate_reference
from . import current_swarm

blueprint = Blueprint("status", __name__)


@blueprint.get("/status/<job_id>")
def status(job_id: str):
    try:
        validate_reference(job_id)
    except ValidationError as error:
        raise ValidationError({"id": error.messages}) from None
    return StatusResponse().dump(current_swarm().job_status(job_id))
