"""GET /history/:id over the in-memory runtime: the request as recorded, in /run's field names,
with the defaults it ran with and without its secrets, and the timeline from /run to /stop.
(That it is what the job's service holds: the runtime contract, support/contract.py.)"""

import base64
import hashlib
import json
import re

from quartermaster.compose import compose_app
from quartermaster.process.config import DEFAULT_CONSTRAINTS, DEFAULT_TTL
from support.api import ApiClient, assert_error
from support.fake_runtime import FakeRuntime
from support.settings import make_config

# A webhook's secret may be in its path (Slack, Discord) as well as in its query.
CALLBACK_URL = "http://127.0.0.1:9/hooks/path-secret?sig=callback-secret"
CALLBACK_DIGEST = hashlib.sha256(CALLBACK_URL.encode()).hexdigest()[:16]
AUTH = base64.b64encode(json.dumps({"username": "u", "password": "registry-pw"}).encode()).decode()


def test_the_request_is_recorded_without_its_secrets(api):
    job_id = api.run_ok(
        image="busybox", command="sh -c 'sleep 30'", name="nightly", memory=64, cpus=0.5,
        env={"API_KEY": "env-secret"}, labels={"team": "a"}, auth=AUTH, timeout=60,
        callback_url=CALLBACK_URL,
    )  # fmt: skip
    answer = api.get_ok(f"/history/{job_id}")
    assert answer["id"] == job_id
    assert answer["request"] == {
        "image": "busybox",
        "command": ["sh", "-c", "sleep 30"],
        "name": "nightly",
        "labels": {"team": "a"},
        "env": {"API_KEY": None},  # names only, unless KEEP_ENV_VALUES
        "memory": 64,
        "cpus": 0.5,
        "constraints": list(DEFAULT_CONSTRAINTS),  # the configured ones: what ran
        "type": "service",
        "completions": 1,
        "parallelism": 1,
        "retries": 0,
        "timeout": 60,
        "ttl": DEFAULT_TTL,
        "callback_url": f"http://127.0.0.1:9/...#sha256:{CALLBACK_DIGEST}",
    }
    text = json.dumps(answer)
    assert "registry-pw" not in text and "env-secret" not in text and "callback-secret" not in text
    assert "path-secret" not in text


def test_a_request_without_the_defaulted_fields_is_recorded_with_the_configured_ones():
    """Not null: the values the job ran with, from this server's settings."""
    config = make_config(memory_mb=96, constraints=("node.labels.pool==batch",), ttl=3600)
    api = ApiClient(compose_app(config, FakeRuntime(config)).test_client())
    job_id = api.run_ok(image="busybox", command="true", constraints=["node.role==worker"])
    request = api.get_ok(f"/history/{job_id}")["request"]
    assert (request["memory"], request["ttl"]) == (96, 3600)
    assert request["constraints"] == ["node.labels.pool==batch", "node.role==worker"]
    assert request["name"] == api.status(job_id).get_json()["name"]
    assert re.fullmatch(r"job-[0-9a-f]{16}", request["name"])


def test_the_timeline_runs_from_run_to_stop(api):
    job_id = api.run_ok(image="busybox", command="sleep 30")
    api.wait_for(job_id, "started")
    api.stop(job_id)
    timeline = api.get_ok(f"/history/{job_id[:8]}")["timeline"]  # a prefix resolves too
    assert timeline[0]["status"] == "pending"
    assert (timeline[-1]["status"], timeline[-1]["detail"]) == ("shutdown", "stopped by /stop")
    assert [step["at"] for step in timeline] == sorted(step["at"] for step in timeline)
    assert all(step["at"].endswith("Z") for step in timeline)


def test_an_unknown_or_invalid_reference_is_refused(api):
    assert_error(api.get("/history/nosuchjob"), 404)
    assert "fields" in assert_error(api.get("/history/bad%20ref"), 400)


def test_a_stop_whose_service_the_reaper_removed_first_is_done(api, runtime, monkeypatch):
    """/stop writes the record, then removes the service; a reaper that saw the record first
    (reaper/recording.py ends such stops) may remove it in between: the stop is done, not 404."""
    job_id = api.run_ok(image="busybox", command="sh -c 'echo hi; sleep 30'")
    api.wait_for(job_id, "started")
    removal = runtime.stop_job

    def reaper_first(reference):
        removal(reference)  # the reaper's removal
        return removal(reference)  # then /stop's own: JobNotFound

    monkeypatch.setattr(runtime, "stop_job", reaper_first)
    assert api.stop(job_id).get_json() == {"success": True, "id": job_id}
    timeline = api.get_ok(f"/history/{job_id}")["timeline"]
    assert (timeline[-1]["status"], timeline[-1]["detail"]) == ("shutdown", "stopped by /stop")
    assert api.logs(job_id) == "hi\n"
