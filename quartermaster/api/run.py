"""POST /run: start a job (a swarm service) and return its id."""

from flask import Blueprint

from ..inputs import json_object
from ..schemas import JobIdResponse, RunRequest
from . import current_swarm

blueprint = Blueprint("run", __name__)


@blueprint.post("/run")
def run():
    job = RunRequest().load(json_object())
    return JobIdResponse().dump({"id": current_swarm().create_job(job)})
