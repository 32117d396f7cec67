"""Prometheus metrics, correct across gunicorn's worker processes and the reaper.

The `quartermaster` command points PROMETHEUS_MULTIPROC_DIR at a fresh directory before anything
imports prometheus_client; every process then writes its samples there and /metrics adds them up.
Without that variable (the Flask test client, one process) the default registry is used.
"""

import os
import re

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from quartermaster.process import heartbeat
from quartermaster.process.metrics_directory import VARIABLE as MULTIPROCESS_DIR_VARIABLE

http_requests = Counter(
    "quartermaster_http_requests_total", "HTTP requests answered", ["method", "route", "status"]
)
http_duration = Histogram(
    "quartermaster_http_request_duration_seconds",
    "Time to answer an HTTP request (to the first byte of a stream)",
    ["method", "route"],
)
docker_duration = Histogram(
    "quartermaster_docker_call_duration_seconds",
    "Time of an Engine API call, from when it was asked for to its whole answer (a log stream: "
    "to its headers)",
    ["call"],
)
docker_errors = Counter(
    "quartermaster_docker_errors_total",
    "Engine API calls that failed: an error status, or no answer at all (call=unreachable)",
    ["call"],
)
jobs_created = Counter(
    "quartermaster_jobs_created_total",
    "/run requests that reached the swarm, by outcome: created, existing (Idempotency-Key), "
    "refused (name in use, different request, Docker refused)",
    ["outcome"],
)
quota_refusals = Counter(
    "quartermaster_quota_refusals_total",
    "/run requests a tenant's quota refused, by tenant and reason: never_fits (403), "
    "queue_full, runs_per_minute (429)",
    ["tenant", "reason"],
)
admissions = Counter(
    "quartermaster_admissions_total",
    "Jobs of a tenant with a quota admitted (their runs handed to swarm), by tenant",
    ["tenant"],
)
admission_wait = Histogram(
    "quartermaster_admission_wait_seconds",
    "Time a job of a tenant with a quota waited queued before its admission (0: at once)",
    buckets=(0.1, 0.5, 1, 2, 5, 10, 30, 60, 300, 900, 3600, float("inf")),
)


def note_admitted(tenant: str, waited: float) -> None:
    """A job of `tenant` admitted after `waited` seconds queued."""
    admissions.labels(tenant).inc()
    admission_wait.observe(max(waited, 0.0))


reaper_actions = Counter(
    "quartermaster_reaper_actions_total",
    "What the reapers did: timed_out, expired, callback_delivered, callback_retrying, "
    "callback_failed, claim_removed (an Idempotency-Key claim whose holder is gone)",
    ["action"],
)
# Per worker (a `pid` label): the limit of long requests (MAX_LONG_REQUESTS) is per worker.
long_requests = Gauge(
    "quartermaster_long_requests_in_flight",
    "Long requests in flight in this worker, by kind: wait (/status?wait), follow (/logs?follow)",
    ["kind"],
    multiprocess_mode="liveall",
)
# The record store's size, measured by a worker for /healthz and /metrics (at most once a minute
# each: service/jobs.py): the newest measurement of any process is the store's. "mostrecent": a sum
# over the workers would count the one store several times, a series per worker ("liveall")
# would show older measurements beside the newest, and "max" would never show the store shrink.
store_records = Gauge(
    "quartermaster_store_records",
    "Records the record store holds (the newest measurement, at most a minute old)",
    multiprocess_mode="mostrecent",
)
store_log_bytes = Gauge(
    "quartermaster_store_log_bytes",
    "Bytes of kept logs the record store holds (the newest measurement, at most a minute old)",
    multiprocess_mode="mostrecent",
)

reaper_restarts = Counter(
    "quartermaster_reaper_restarts_total",
    "Reaper processes started again by this instance after the one before exited",
)
HEARTBEAT_METRIC = "quartermaster_reaper_heartbeat_timestamp_seconds"

_API_VERSION = re.compile(r"^/v[0-9.]+")
_OBJECT_ID = re.compile(r"^/(services|tasks|nodes|configs|containers)/(?!create$)[^/]+")


def docker_call_name(method: str, path: str) -> str:
    """`GET /services/{id}` for `GET /v1.41/services/abc123`: few, stable label values."""
    path = _API_VERSION.sub("", path.split("?", 1)[0])
    path = _OBJECT_ID.sub(r"/\1/{id}", path)
    return f"{method} {path}"


def exposition() -> tuple[bytes, str]:
    """The metrics of every process, in Prometheus' text format, and its content type."""
    if os.environ.get(MULTIPROCESS_DIR_VARIABLE):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        registry.register(_ReaperHeartbeat())
    else:
        registry = REGISTRY
    return generate_latest(registry), CONTENT_TYPE_LATEST


class _ReaperHeartbeat(Collector):
    """The reaper's last sign of life, read from its heartbeat file when /metrics is asked."""

    def collect(self):
        last = heartbeat.last_beat()
        if last is not None:
            yield GaugeMetricFamily(
                HEARTBEAT_METRIC,
                "When the reaper last showed progress (an action, or the end of a round), "
                "or was started",
                value=last,
            )


def forget_process(pid: int) -> None:
    """A worker exited: drop its live samples (counters and histograms are kept)."""
    if os.environ.get(MULTIPROCESS_DIR_VARIABLE):
        multiprocess.mark_process_dead(pid)
