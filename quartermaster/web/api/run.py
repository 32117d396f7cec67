"""POST /run: start a job (a swarm service) and return its id."""

import functools
from dataclasses import replace
from typing import TypeVar

from flask import Blueprint
from flask.typing import ResponseReturnValue

from quartermaster.jobs.tenancy import RUN
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
    errors=(400, 409, 413, 415, 429, 503),
    right=RUN,
    headers=(("Idempotency-Key", IDEMPOTENCY_KEY),),
)
def run() -> ResponseReturnValue:
    job = replace(configured(RunRequest).load(json_object()), idempotency_key=idempotency_key())
    return RESPONSE.dump({"id": context.jobs().create_job(context.actor(), job)})


Schema = TypeVar("Schema", bound=RunRequest)


def configured(schema: type[Schema]) -> Schema:
    """`schema` (/run's, or a template's: /run's fields) for this app's callback and ttl
    settings."""
    settings = context.settings()
    return _made(
        schema, settings.callback_hosts, settings.callback_allow_private, settings.ttl_limit
    )


@functools.lru_cache(maxsize=8)
def _made(
    schema: type[Schema], callback_hosts: tuple[str, ...], allow_private: bool, max_ttl: int
) -> Schema:
    """The schema for these settings, made once: making one copies each of its fields (8% of
    a worker's CPU per /run, measured), and loading leaves it as it was."""
    return schema(
        callback_hosts=callback_hosts, callback_allow_private=allow_private, max_ttl=max_ttl
    )
