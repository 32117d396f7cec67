"""GET /logs/<id>: a job's output, filtered, and followed live until the job ends."""

import time

import pytest
import requests
from conftest import TOKEN

PRINTER = "echo out-1; echo err-1 >&2; echo out-2; echo err-2 >&2"


@pytest.fixture
def finished_job(lab, api):
    job_id = api.run_ok(image=lab.image, command=["sh", "-c", PRINTER])
    api.wait_for(job_id, "complete")
    return job_id


def logs(api, job_id, query=""):
    response = api.client.get(f"/logs/{job_id}{query}", headers=api.headers)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == "text/plain"
    return response.get_data(as_text=True)


def wait_for_lines(api, job_id, count, timeout=20):
    """Swarm collects a finished task's logs from its worker; they can lag a little."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        text = logs(api, job_id)
        if len(text.splitlines()) >= count:
            return text
        time.sleep(0.25)
    raise AssertionError(f"only {text!r} after {timeout}s")


def test_logs_have_stdout_and_stderr(api, finished_job):
    text = wait_for_lines(api, finished_job, 4)
    assert sorted(text.splitlines()) == ["err-1", "err-2", "out-1", "out-2"]


def test_logs_filters(api, finished_job):
    wait_for_lines(api, finished_job, 4)
    assert logs(api, finished_job, "?stream=stdout").splitlines() == ["out-1", "out-2"]
    assert logs(api, finished_job, "?stream=stderr").splitlines() == ["err-1", "err-2"]
    tail = logs(api, finished_job, "?tail=3").splitlines()
    assert len(tail) == 3 and set(tail) < {"out-1", "out-2", "err-1", "err-2"}
    assert logs(api, finished_job, "?tail=0") == ""
    stamped = logs(api, finished_job, "?stream=stdout&timestamps=true").splitlines()
    assert [line.split(" ", 1)[1] for line in stamped] == ["out-1", "out-2"]
    assert all(line[:2] == "20" for line in stamped)
    assert logs(api, finished_job, f"?since={time.time() + 3600:.0f}") == ""


def test_tail_counts_the_lines_of_the_stream_asked_for(lab, api):
    # The last lines went to stderr: Docker alone would count them for stdout's tail too.
    printer = "echo out-1; echo out-2; echo out-3; echo err-1 >&2; echo err-2 >&2"
    job_id = api.run_ok(image=lab.image, command=["sh", "-c", printer])
    api.wait_for(job_id, "complete")
    wait_for_lines(api, job_id, 5)
    assert logs(api, job_id, "?tail=2&stream=stdout").splitlines() == ["out-2", "out-3"]
    assert logs(api, job_id, "?tail=1&stream=stderr").splitlines() == ["err-2"]
    assert logs(api, job_id, "?tail=10&stream=stdout").splitlines() == ["out-1", "out-2", "out-3"]
    stamped = logs(api, job_id, "?tail=1&stream=stdout&timestamps=true").splitlines()
    assert [line.split(" ", 1)[1] for line in stamped] == ["out-3"]
    followed = logs(api, job_id, "?tail=2&stream=stdout&follow=true")  # ends: the job is final
    assert followed.splitlines() == ["out-2", "out-3"]


@pytest.mark.parametrize(
    "query",
    [
        "?tail=-1",
        "?tail=x",
        "?tail=%C2%B2",  # a superscript two: a digit to str.isdigit, not to int()
        "?stream=both",
        "?follow=maybe",
        "?since=-5",
        "?since=1.7e308",  # Docker answers a 500 on times past year 9999
        "?since=253402300800",
        "?lines=3",
    ],
)
def test_bad_log_queries_are_400(api, finished_job, query):
    response = api.client.get(f"/logs/{finished_job}{query}", headers=api.headers)
    assert response.status_code == 400
    assert query[1:].split("=")[0] in response.get_json()["fields"]


def test_logs_of_unknown_jobs_are_404(api):
    assert api.client.get("/logs/nosuchjob", headers=api.headers).status_code == 404


def test_followed_logs_stream_while_the_job_prints_and_end_with_it(lab, live_server):
    headers = {"Authorization": f"Bearer {TOKEN}"}
    script = "for i in 1 2 3 4 5; do echo tick-$i; sleep 1; done"
    job_id = requests.post(
        f"{live_server.url}/run",
        json={"image": lab.image, "command": ["sh", "-c", script]},
        headers=headers,
        timeout=10,
    ).json()["id"]
    lines, statuses_seen_while_reading = [], set()
    with requests.get(
        f"{live_server.url}/logs/{job_id}?follow=true", headers=headers, stream=True, timeout=60
    ) as response:
        assert response.status_code == 200
        assert response.headers.get("Transfer-Encoding") == "chunked"
        for line in response.iter_lines():
            lines.append(line.decode())
            status = requests.get(f"{live_server.url}/status/{job_id}", headers=headers, timeout=5)
            statuses_seen_while_reading.add(status.json()["status"])
    # The stream ended by itself, after every line, and lines arrived while the job ran.
    assert lines == [f"tick-{i}" for i in range(1, 6)]
    assert "started" in statuses_seen_while_reading
    final = requests.get(f"{live_server.url}/status/{job_id}", headers=headers, timeout=5)
    assert final.json()["status"] == "complete"


def test_a_follower_that_goes_away_leaves_the_server_well(lab, live_server):
    headers = {"Authorization": f"Bearer {TOKEN}"}
    job_id = requests.post(
        f"{live_server.url}/run",
        json={
            "image": lab.image,
            "command": ["sh", "-c", "while true; do echo x; sleep 0.2; done"],
        },
        headers=headers,
        timeout=10,
    ).json()["id"]
    for _ in range(5):
        with requests.get(
            f"{live_server.url}/logs/{job_id}?follow=true", headers=headers, stream=True, timeout=30
        ) as response:
            assert next(response.iter_lines()) == b"x"
    assert requests.get(f"{live_server.url}/healthz", timeout=5).status_code == 200
    stopped = requests.post(
        f"{live_server.url}/stop", json={"id": job_id}, headers=headers, timeout=10
    )
    assert stopped.status_code == 200
