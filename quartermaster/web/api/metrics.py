"""GET /metrics: Prometheus metrics of every process of this instance. Token-protected, unless
METRICS_PUBLIC=1."""

from flask import Blueprint, Response
from flask.typing import ResponseReturnValue

from quartermaster.process import metrics as prometheus
from quartermaster.web import context
from quartermaster.web.describe import describe

blueprint = Blueprint("metrics", __name__)


@blueprint.get("/metrics")
@describe(
    summary="Prometheus metrics",
    response="text/plain",
    public=lambda settings: settings.metrics_public,
)
def metrics() -> ResponseReturnValue:
    context.jobs().store_size()  # measured again if its measurement is old: the gauges follow
    body, content_type = prometheus.exposition()
    return Response(body, content_type=content_type)
