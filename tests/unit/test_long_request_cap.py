"""The per-worker cap on long requests: beyond MAX_LONG_REQUESTS waits and follows at once, a JSON
429 with Retry-After, while short requests still answer."""

from quartermaster.compose import compose_app
from support.api import assert_error
from support.fake_runtime import FakeRuntime
from support.settings import BEARER, make_config


def test_long_requests_beyond_the_cap_are_429_and_others_still_answer():
    config = make_config(max_long_requests=1)
    client = compose_app(config, FakeRuntime(config)).test_client()
    body = {"image": "qm/busybox:latest", "constraints": ["node.labels.never==placed"]}
    job_id = client.post("/run", json=body, headers=BEARER).get_json()["id"]  # stays pending
    # A follow holds its slot until its answer is closed (here: never read until then).
    held = client.get(f"/logs/{job_id}?follow=true", headers=BEARER, buffered=False)
    assert held.status_code == 200
    for path in (f"/status/{job_id}?wait=5", f"/logs/{job_id}?follow=true"):
        response = client.get(path, headers=BEARER)
        assert "at most 1 at once" in assert_error(response, 429)["error"]
        assert response.headers["Retry-After"] == "5"
    assert client.get(f"/status/{job_id}", headers=BEARER).status_code == 200
    assert client.get("/healthz").status_code == 200
    held.close()
    assert client.get(f"/status/{job_id}?wait=0.1", headers=BEARER).status_code == 200
