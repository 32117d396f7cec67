"""GET /healthz: the reaper's liveness, Docker unreachable, and what the record store holds (in
/metrics too)."""

import os
import time

import pytest
from prometheus_client.parser import text_string_to_metric_families

from quartermaster.compose import compose_app
from quartermaster.process import heartbeat, metrics_directory
from quartermaster.service import jobs as service
from quartermaster.store import RecordStore
from support.api import ApiClient
from support.fake_runtime import FakeRuntime
from support.settings import BEARER, make_config


@pytest.fixture
def heartbeat_file(tmp_path, monkeypatch):
    """The instance's shared directory, as the `quartermaster` command makes it, with a
    heartbeat file in it."""
    monkeypatch.setenv(metrics_directory.VARIABLE, str(tmp_path))
    path = tmp_path / metrics_directory.HEARTBEAT_FILE
    path.touch()
    return path


def test_healthz_needs_no_token_and_says_no_reaper_runs_in_a_bare_app(flask_client):
    response = flask_client.get("/healthz")
    assert response.status_code == 200
    body = response.get_json()
    # An app not started by the `quartermaster` command runs no reaper.
    assert (body["success"], body["docker"], body["reaper"]) == (True, "ok", {"state": "off"})


def test_healthz_tells_the_reaper_makes_progress(flask_client, heartbeat_file):
    os.utime(heartbeat_file, (time.time() - 3, time.time() - 3))
    response = flask_client.get("/healthz")
    assert response.status_code == 200
    reaper = response.get_json()["reaper"]
    assert reaper["state"] == "ok"
    assert 3 <= reaper["seconds_since_progress"] < 10


def test_healthz_is_503_when_the_reaper_is_stale(flask_client, heartbeat_file):
    quiet = 5 + heartbeat.STALE_SECONDS + 1  # beyond the default interval and the grace
    os.utime(heartbeat_file, (time.time() - quiet, time.time() - quiet))
    response = flask_client.get("/healthz")
    assert response.status_code == 503
    body = response.get_json()
    assert (body["success"], body["code"]) == (False, 503)
    assert body["error"].startswith("the reaper made no progress for 6")


def test_healthz_says_off_when_the_instance_runs_no_reaper(heartbeat_file):
    os.utime(heartbeat_file, (0, 0))
    config = make_config(reaper_interval=0)
    response = compose_app(config, FakeRuntime(config)).test_client().get("/healthz")
    assert response.status_code == 200
    assert response.get_json()["reaper"] == {"state": "off"}


def test_healthz_is_503_fast_when_docker_is_unreachable():
    app = compose_app(make_config())  # the swarm runtime, on a Docker host that is not there
    started = time.monotonic()
    response = app.test_client().get("/healthz")
    assert time.monotonic() - started < 1
    assert response.status_code == 503
    body = response.get_json()
    assert (body["success"], body["code"]) == (False, 503)
    assert "Docker is unreachable" in body["error"]


def test_healthz_tells_what_the_store_holds(api, monkeypatch):
    assert api.get("/healthz").get_json()["store"] == {"state": "ok", "records": 0, "log_bytes": 0}
    kept = api.run_ok(image="busybox", command="sh -c 'echo hello; sleep 30'")
    api.run_ok(image="busybox", command="sleep 30")
    api.wait_for(kept, "started")
    api.stop(kept)  # its log is kept
    log = api.get(f"/logs/{kept}?timestamps=true").get_data()
    assert log.endswith(b" hello\n")
    monkeypatch.setattr(service, "STORE_SIZE_SECONDS", 0)  # measured again: see the next test
    store = api.get("/healthz").get_json()["store"]
    assert store == {"state": "ok", "records": 2, "log_bytes": len(log)}


def test_the_store_is_measured_at_most_once_a_minute(api, monkeypatch):
    """A measurement is a full scan of the records: a process keeps it STORE_SIZE_SECONDS."""
    api.run_ok(image="busybox", command="sleep 30")
    assert api.get("/healthz").get_json()["store"]["records"] == 1
    api.run_ok(image="busybox", command="sleep 30")
    assert api.get("/healthz").get_json()["store"]["records"] == 1
    monkeypatch.setattr(service, "STORE_SIZE_SECONDS", 0)
    assert api.get("/healthz").get_json()["store"]["records"] == 2


def test_healthz_is_200_and_says_so_when_the_store_is_out_of_reach():
    """The store is not this instance's health (a restart would not bring it back)."""
    config = make_config()
    store = RecordStore("sqlite:////proc/no-such-dir/quartermaster.db")
    response = compose_app(config, FakeRuntime(config), store).test_client().get("/healthz")
    assert response.status_code == 200
    assert response.get_json()["store"] == {"state": "unreachable"}


def test_metrics_tell_what_the_store_holds(flask_client):
    api = ApiClient(flask_client)
    api.run_ok(image="busybox", command="sleep 30")
    text = flask_client.get("/metrics", headers=BEARER).get_data(as_text=True)
    samples = {
        sample.name: sample.value
        for family in text_string_to_metric_families(text)
        if family.name.startswith("quartermaster_store_")
        for sample in family.samples
    }
    assert samples == {"quartermaster_store_records": 1, "quartermaster_store_log_bytes": 0}
