"""GET /healthz: Docker reachable and a swarm manager, with node counts. Needs no token."""

from flask import Blueprint

from ..schemas import HealthResponse
from . import current_swarm

blueprint = Blueprint("health", __name__)


@blueprint.get("/healthz")
def healthz():
    return HealthResponse().dump({"swarm": current_swarm().health()})
