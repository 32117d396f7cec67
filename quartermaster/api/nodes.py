"""GET /nodes: every node's capacity and what jobs reserve on it (why a job is pending)."""

from flask import Blueprint

from ..schemas import NodesResponse
from . import current_swarm, describe

blueprint = Blueprint("nodes", __name__)
RESPONSE = NodesResponse()  # made once: see status.py


@blueprint.get("/nodes")
@describe(
    summary="Every node, its capacity and what jobs reserve on it",
    response=NodesResponse,
    errors=(503,),
)
def nodes():
    return RESPONSE.dump({"nodes": current_swarm().nodes()})
