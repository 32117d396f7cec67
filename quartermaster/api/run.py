"""POST /run: start a job (a swarm service) and return its id."""

from dataclasses import replace

from flask import Blueprint

from ..inputs import IDEMPOTENCY_KEY, idempotency_key, json_object
from ..schemas import JobIdResponse, RunRequest
from . import current_swarm, describe

blueprint = Blueprint("run", __name__)
RESPONSE = JobIdResponse()  # made once: see status.py


@blueprint.post("/run")
@describe(
    summary="Start a job",
    body=RunRequest,
    response=JobIdResponse,
    errors=(400, 409, 413, 415, 503),
    headers=(("Idempotency-Key", IDEMPOTENCY_KEY),),
)
def run():
    swarm = current_swarm()
    schema = RunRequest(
        callback_hosts=swarm.config.callback_hosts,
        callback_allow_private=swarm.config.callback_allow_private,
    )
    job = replace(schema.load(json_object()), idempotency_key=idempotency_key())
    return RESPONSE.dump({"id": swarm.create_job(job)})
