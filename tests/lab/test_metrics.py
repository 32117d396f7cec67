"""GET /metrics: Prometheus text, summed over every gunicorn worker and the reaper."""

import time

import requests

from support.lab import DEPLOYMENT, metric_values


def test_metrics_add_up_across_workers_and_the_reaper(lab, live_server_factory):
    # A deployment of its own: its reaper's actions are on this test's one job only, not also on
    # a job an earlier test of this process left (it counted two expiries once, 2026-12-07).
    env = {"REAPER_INTERVAL": "0.5", "DEPLOYMENT": f"{DEPLOYMENT}-metrics"}
    server = live_server_factory("--workers", "3", env=env)
    api = server.client()
    ok = 'quartermaster_http_requests_total{method="GET",route="/healthz",status="200"}'
    before = metric_values(api.get("/metrics").text)
    for _ in range(30):  # spread over the three workers by the kernel
        assert requests.get(f"{server.url}/healthz", timeout=5).status_code == 200
    job_id = api.run_ok(image=lab.image, command="true", ttl=0)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:  # the reaper removes the job once it is complete
        if api.get(f"/status/{job_id}").status_code == 404:
            break
        time.sleep(0.3)

    assert requests.get(f"{server.url}/metrics", timeout=5).status_code == 401
    response = api.get("/metrics")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/plain")
    values = metric_values(response.text)
    assert values[ok] - before.get(ok, 0) == 30
    assert values['quartermaster_jobs_created_total{outcome="created"}'] == 1
    assert values['quartermaster_reaper_actions_total{action="expired"}'] == 1
    assert (
        values['quartermaster_docker_call_duration_seconds_count{call="POST /services/create"}']
        == 1
    )
    assert (
        values['quartermaster_http_request_duration_seconds_count{method="POST",route="/run"}'] == 1
    )


def test_metrics_can_be_public(live_server_factory):
    server = live_server_factory(env={"METRICS_PUBLIC": "1"})
    assert requests.get(f"{server.url}/metrics", timeout=5).status_code == 200


def test_the_store_gauges_are_one_series_whichever_worker_answers(lab, live_server_factory):
    """The store's size as the newest measurement of any worker: one sample each (not one a
    worker, nor their sum), in /healthz as in /metrics."""
    server = live_server_factory(
        "--workers", "3", env={"REAPER_INTERVAL": "0"}, ready_path="/readyz"
    )  # no /healthz yet: each worker measures the store first after the two /run below
    api = server.client()
    job_ids = [api.run_ok(image=lab.image, command="true") for _ in range(2)]
    try:
        for _ in range(12):  # spread over the three workers by the kernel
            text = api.get("/metrics").text
            samples = [line for line in text.splitlines() if line.startswith("quartermaster_store")]
            assert samples == [
                "quartermaster_store_records 2.0",
                "quartermaster_store_log_bytes 0.0",
            ]
        store = requests.get(f"{server.url}/healthz", timeout=5).json()["store"]
        assert store == {"state": "ok", "records": 2, "log_bytes": 0}
    finally:
        for job_id in job_ids:
            api.stop(job_id)


def test_unknown_methods_and_paths_add_no_series(live_server_factory):
    """Every label value is a series each worker writes to the multiprocess directory and keeps
    until a restart; a request of any method to any path needs no token."""
    server = live_server_factory("--workers", "2", env={"REAPER_INTERVAL": "0"})
    api = server.client()
    session = requests.Session()

    def series() -> set[str]:
        return set(metric_values(api.get("/metrics").text))

    for n in range(20):  # the first of each kind make their series once
        session.request(f"W{n:03}", f"{server.url}/nowhere/{n}", timeout=5)
        session.request(f"W{n:03}", f"{server.url}/healthz", timeout=5)
        series()
    before = series()
    for n in range(1000):
        assert session.request(f"X{n:05}", f"{server.url}/p/{n}", timeout=5).status_code == 404
        assert session.request(f"Y{n:05}", f"{server.url}/healthz", timeout=5).status_code == 405
    assert series() == before
    other = 'quartermaster_http_requests_total{method="other",route="unmatched",status="405"}'
    assert metric_values(api.get("/metrics").text)[other] == 20 + 1000
