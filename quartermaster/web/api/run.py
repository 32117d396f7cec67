"""POST /run: start a job (a swarm service) and return its id."""

from dataclasses import replace

from flask import Blueprint
from flask.typing import ResponseReturnValue

from quartermaster.web import context
from quartermaster.web.describe import describe
from quartermaster.web.inputs import IDEMPOTENCY_KEY, idempotency_key, json_object
from quartermaster.web.schemas import JobIdResponse, RunRequest

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
def run() -> ResponseReturnValue:
    schema = RunRequest(
        callback_hosts=context.settings().callback_hosts,
        callback_allow_private=context.settings().callback_allow_private,
        max_ttl=context.settings().ttl_limit,
    )
    job = replace(schema.load(json_object()), idempotency_key=idempotency_key())
    return RESPONSE.dump({"id": context.jobs().create_job(job)})
