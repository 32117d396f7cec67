"""GET /healthz (Docker and the swarm answer; what the record store holds) and GET /readyz (a
job could be placed now).

Neither needs a token: load balancers and orchestrators call them.
"""

from dataclasses import asdict

from flask import Blueprint
from flask.typing import ResponseReturnValue

from quartermaster.process.heartbeat import reaper_liveness
from quartermaster.web import context
from quartermaster.web.describe import describe
from quartermaster.web.errors import ApiError
from quartermaster.web.schemas import HealthResponse, ReadyResponse

blueprint = Blueprint("health", __name__)


@blueprint.get("/healthz")
@describe(
    summary="Docker answers, this is a swarm manager, and this instance's reaper makes progress",
    response=HealthResponse,
    errors=(503,),
    public=True,
)
def healthz() -> ResponseReturnValue:
    counts, reaper = context.jobs().health(), reaper_liveness(context.settings())
    if reaper["state"] == "stale":
        # Its supervisor restarts a reaper that dies; one alive but stuck for this long is past
        # what the instance can mend: the image's HEALTHCHECK lets Docker restart the container.
        raise ApiError(503, f"the reaper made no progress for {reaper['seconds_since_progress']}s")
    size = context.jobs().store_size()
    store = {"state": "unreachable"} if size is None else {"state": "ok", **asdict(size)}
    return HealthResponse().dump({"swarm": counts, "reaper": reaper, "store": store})


@blueprint.get("/readyz")
@describe(summary="A job could be placed now", response=ReadyResponse, errors=(503,), public=True)
def readyz() -> ResponseReturnValue:
    problem = context.jobs().readiness_problem()
    if problem:
        raise ApiError(503, f"not ready: {problem}")
    return ReadyResponse().dump({})
