"""GET /nodes: every node's capacity and what jobs reserve on it (why a job is pending), and
when the swarm showed that (swarm/kept_nodes.py)."""

from flask import Blueprint
from flask.typing import ResponseReturnValue

from quartermaster.jobs.tenancy import READ
from quartermaster.jobs.times import NANO, timestamp_of
from quartermaster.web import context
from quartermaster.web.describe import describe
from quartermaster.web.schemas import NodesResponse

blueprint = Blueprint("nodes", __name__)
RESPONSE = NodesResponse()  # made once: see status.py


@blueprint.get("/nodes")
@describe(
    summary="Every node, its capacity and what jobs reserve on it",
    response=NodesResponse,
    errors=(503,),
    right=READ,
)
def nodes() -> ResponseReturnValue:
    reading = context.jobs().nodes()
    return RESPONSE.dump(
        {"nodes": reading.nodes, "as_of": timestamp_of(round(reading.as_of * NANO))}
    )
