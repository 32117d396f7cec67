"""POST /stop: stop and remove a job by id, id prefix or name."""

from flask import Blueprint
from flask.typing import ResponseReturnValue

from quartermaster.jobs.tenancy import STOP
from quartermaster.web import context
from quartermaster.web.describe import describe
from quartermaster.web.inputs import json_object
from quartermaster.web.schemas import JobIdResponse, StopRequest

blueprint = Blueprint("stop", __name__)
REQUEST, RESPONSE = StopRequest(), JobIdResponse()  # made once: see status.py


@blueprint.post("/stop")
@describe(
    summary="Stop and remove a job",
    body=StopRequest,
    response=JobIdResponse,
    errors=(400, 404, 409, 413, 415, 503),
    right=STOP,
)
def stop() -> ResponseReturnValue:
    reference = REQUEST.load(json_object())
    return RESPONSE.dump({"id": context.jobs().stop_job(context.actor(), reference)})
