"""POST /run: start a job (a swarm service) and return its id."""

from dataclasses import replace

from flask import Blueprint

from ..inputs import idempotency_key, json_object
from ..schemas import JobIdResponse, RunRequest
from . import current_swarm

blueprint = Blueprint("run", __name__)


@blueprint.post("/run")
def run():
    swarm = current_swarm()
    schema = RunRequest(callback_hosts=swarm.config.callback_hosts)
    job = replace(schema.load(json_object()), idempotency_key=idempotency_key())
    return JobIdResponse().dump({"id": swarm.create_job(job)})
