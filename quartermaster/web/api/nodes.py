"""GET /nodes: every node's capacity and what jobs reserve on it (why a job is pending)."""

from flask import Blueprint
from flask.typing import ResponseReturnValue

from quartermaster.jobs.tenancy import READ
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
    return RESPONSE.dump({"nodes": context.jobs().nodes()})
