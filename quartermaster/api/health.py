"""GET /healthz (Docker and the swarm answer) and GET /readyz (a job could be placed now).

Neither needs a token: load balancers and orchestrators call them.
"""

from flask import Blueprint

from ..errors import ApiError
from ..schemas import HealthResponse, ReadyResponse
from . import current_swarm, describe

blueprint = Blueprint("health", __name__)


@blueprint.get("/healthz")
@describe(
    summary="Docker answers and this is a swarm manager", response=HealthResponse, errors=(503,)
)
def healthz():
    return HealthResponse().dump({"swarm": current_swarm().health()})


@blueprint.get("/readyz")
@describe(summary="A job could be placed now", response=ReadyResponse, errors=(503,))
def readyz():
    problem = current_swarm().readiness_problem()
    if problem:
        raise ApiError(503, f"not ready: {problem}")
    return ReadyResponse().dump({})
