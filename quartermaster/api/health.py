"""GET /healthz (Docker and the swarm answer) and GET /readyz (a job could be placed now).

Neither needs a token: load balancers and orchestrators call them.
"""

from flask import Blueprint

from ..errors import ApiError
from ..heartbeat import reaper_liveness
from ..schemas import HealthResponse, ReadyResponse
from . import current_swarm, describe

blueprint = Blueprint("health", __name__)


@blueprint.get("/healthz")
@describe(
    summary="Docker answers, this is a swarm manager, and this instance's reaper makes progress",
    response=HealthResponse,
    errors=(503,),
)
def healthz():
    swarm = current_swarm()
    counts, reaper = swarm.health(), reaper_liveness(swarm.config)
    if reaper["state"] == "stale":
        # Its supervisor restarts a reaper that dies; one alive but stuck for this long is past
        # what the instance can mend: the image's HEALTHCHECK lets Docker restart the container.
        raise ApiError(503, f"the reaper made no progress for {reaper['seconds_since_progress']}s")
    return HealthResponse().dump({"swarm": counts, "reaper": reaper})


@blueprint.get("/readyz")
@describe(summary="A job could be placed now", response=ReadyResponse, errors=(503,))
def readyz():
    problem = current_swarm().readiness_problem()
    if problem:
        raise ApiError(503, f"not ready: {problem}")
    return ReadyResponse().dump({})
