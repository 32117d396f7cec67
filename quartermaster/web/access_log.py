"""Request ids, the access log (one JSON line per request) and the request metrics.

Every request gets an id: a sane incoming X-Request-ID is kept, otherwise one is made. It is echoed
in the X-Request-ID response header and in error bodies, and logged with the request. The access
line names the route (its template, never the raw URL, whose query may hold the token) and the job
id only once the swarm confirmed the job exists.

The metrics' labels come from fixed sets, whatever a client sends: a method the app routes, or
`other`; a route's template, or `unmatched`. Every label value is a series kept until the instance
restarts, and a request of any method to any path needs no token.
"""

import logging
import re
import time
import uuid

from flask import Flask, Response, g, request

from quartermaster.process import metrics

HEADER = "X-Request-ID"
OTHER_METHOD = "other"
UNMATCHED_ROUTE = "unmatched"
_SANE = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")

log = logging.getLogger("quartermaster.access")


def install_access_log(app: Flask, secret: str) -> None:
    """`secret`: what an incoming request id must not carry (it is echoed and logged)."""
    routed_methods: set[str] = set()  # filled at the first answer: by then every route is added

    @app.before_request
    def assign_request_id():
        g.started = time.perf_counter()
        incoming = request.headers.get(HEADER, "")
        adopt = _SANE.match(incoming) and secret not in incoming
        g.request_id = incoming if adopt else uuid.uuid4().hex

    @app.after_request
    def echo_and_log(response: Response) -> Response:
        response.headers[HEADER] = g.get("request_id") or uuid.uuid4().hex
        route = request.url_rule.rule if request.url_rule else None
        duration = time.perf_counter() - g.get("started", time.perf_counter())
        if not routed_methods:
            routed_methods.update(*(rule.methods or () for rule in app.url_map.iter_rules()))
        method = request.method if request.method in routed_methods else OTHER_METHOD
        metrics.http_requests.labels(method, route or UNMATCHED_ROUTE, response.status_code).inc()
        metrics.http_duration.labels(method, route or UNMATCHED_ROUTE).observe(duration)
        log.info(
            "request",
            extra={
                "request_id": response.headers[HEADER],
                "method": request.method,
                "route": route,
                "status": response.status_code,
                "duration_ms": round(duration * 1000, 2),
                "job_id": _job_id(response),
            },
        )
        return response


def _job_id(response: Response) -> str | None:
    """The job an answer is about: the `id` of its JSON (noted before it was serialized: see
    QuartermasterFlask.make_response), else the reference of its path; none for an error."""
    if response.status_code >= 400:
        return None
    return g.get("answered_job_id") or (request.view_args or {}).get("job_id")
