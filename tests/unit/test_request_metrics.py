"""The metrics' labels come from fixed sets: what a client sends (a method, a path, a job
reference) makes no new series. (Requests against a real server and its multiprocess directory:
tests/lab/test_metrics.py.)"""

import pytest

from quartermaster.jobs.errors import JobNotFound
from quartermaster.process import metrics
from quartermaster.swarm.call_gate import CallGate
from quartermaster.swarm.engine import EngineClient

REQUESTS = 1000


def series() -> set[str]:
    """Every sample's name with its labels, as /metrics writes them."""
    text = metrics.exposition()[0].decode()
    return {line.rpartition(" ")[0] for line in text.splitlines() if not line.startswith("#")}


def test_unknown_methods_and_paths_add_no_series(flask_client):
    # The first unknown method and path make their series ("other", "unmatched") once.
    flask_client.open("/nowhere", method="X")
    flask_client.open("/healthz", method="X")
    before = series()
    for n in range(REQUESTS):
        assert flask_client.open(f"/nowhere/{n}", method=f"X{n:05}").status_code == 404
        assert flask_client.open("/healthz", method=f"Y{n:05}").status_code == 405
    assert series() == before


def test_requests_are_counted_by_routed_method_and_route_template(flask_client):
    text = metrics.exposition()[0].decode()
    counted = [
        'quartermaster_http_requests_total{method="other",route="unmatched",status="404"}',
        'quartermaster_http_requests_total{method="other",route="unmatched",status="405"}',
        'quartermaster_http_requests_total{method="POST",route="unmatched",status="405"}',
        'quartermaster_http_requests_total{method="GET",route="/ui/<path:filename>",status="404"}',
    ]
    before = {sample: _value(text, sample) for sample in counted}
    flask_client.open("/nowhere", method="X00001")
    flask_client.open("/healthz", method="X00002")
    flask_client.post("/healthz")
    flask_client.get("/ui/no-such-file.js")
    after = metrics.exposition()[0].decode()
    assert {sample: _value(after, sample) - before[sample] for sample in counted} == dict.fromkeys(
        counted, 1.0
    )
    assert "X00001" not in after and "X00002" not in after


def _value(text: str, sample: str) -> float:
    for line in text.splitlines():
        name, _, value = line.rpartition(" ")
        if name == sample:
            return float(value)
    return 0.0


class _NotFound:
    """A Docker that answers every call 404, and records nothing but the call's name."""

    status = 404

    def exchange(self, method, target, body, headers, timeout):
        return 404, b'{"message": "no such service"}'

    def open_stream(self, target, timeout):
        return self

    def read_all(self):
        return b'{"message": "no such service"}'

    def close(self):
        pass


HOSTILE_REFERENCES = ["abc", "create", "a/b", "..", "x?y=1", "#f", "é", "%2F", "X" * 300]


def test_docker_calls_are_named_by_their_path_template_whatever_the_reference():
    engine = EngineClient(_NotFound(), CallGate(2), timeout=1, api_version="1.41")
    calls = [
        engine.inspect_service,
        engine.remove_service,
        engine.inspect_config,
        engine.remove_config,
        lambda reference: engine.update_service(reference, 1, {}),
        lambda reference: engine.update_config(reference, 1, {}),
        lambda reference: engine.service_logs(reference, {"tail": reference}),
    ]
    for reference in HOSTILE_REFERENCES:
        for call in calls:
            with pytest.raises(JobNotFound):
                call(reference)
    text = metrics.exposition()[0].decode()
    names = {
        line.split('call="', 1)[1].split('"', 1)[0]
        for line in text.splitlines()
        if line.startswith("quartermaster_docker_errors_total{")
    }
    assert names >= {"GET /services/{id}", "GET /services/{id}/logs", "POST /configs/{id}/update"}
    assert not any(reference in name for name in names for reference in ("abc", "a/b", "X" * 300))
    # "unreachable": a call with no answer (the unit tier's other tests make some).
    calls = names - {"unreachable"}
    assert all(name.split(" ", 1)[1] in DOCKER_PATHS for name in calls), calls


# Every path the engine calls, as a label (where a reference is, {id}; "create" is a path of its
# own, and so a reference "create" is named as that path).
DOCKER_PATHS = {
    "/version",
    "/info",
    "/nodes",
    "/services",
    "/tasks",
    "/configs",
    "/services/create",
    "/configs/create",
    "/services/{id}",
    "/services/{id}/update",
    "/services/{id}/logs",
    "/configs/{id}",
    "/configs/{id}/update",
}
