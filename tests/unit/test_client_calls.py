"""The Python client against a scripted server on loopback: what it sends, how it reads answers
and errors, when it retries."""

import json
import socket
from datetime import UTC, datetime

import pytest

import quartermaster.client.transport
from quartermaster.client import (
    Client,
    ConnectionFailed,
    InvalidRequest,
    Job,
    NotFound,
    PlainHttpTokenWarning,
    QuartermasterError,
    Redirected,
    ServerFailed,
    TooManyRequests,
    Unauthorized,
    Unavailable,
)
from quartermaster.client.retries import RUN_RETRIES
from support.scripted_server import Answer, json_answer
from support.settings import TOKEN

JOB = {
    "success": True,
    "id": "a52f382c82a7d101b8ee3bbaa",
    "name": "my_service",
    "image": "user/image",
    "status": "failed",
    "state": "failed",
    "exit_code": 3,
    "error": "task: non-zero exit (3)",
    "node": "8pxoeevxp1rqpx5z0ceiup32u",
    "created_at": "2026-11-25T22:54:23.553007986Z",
    "started_at": None,
    "finished_at": "2026-11-25T22:54:26.1Z",
    "type": "service",
    "completions": 1,
    "succeeded": 0,
    "failed": 1,
    "attempts": 1,
    "a_field_of_a_newer_server": {"x": 1},
}


def error(code, message, retry_after=None, **more):
    headers = {} if retry_after is None else {"Retry-After": retry_after}
    return json_answer(code, {"success": False, "code": code, "error": message, **more}, **headers)


def test_the_token_goes_only_in_the_authorization_header(scripted_server, qm_client):
    scripted_server.answer("GET", "/status/my_service", json_answer(200, JOB))
    qm_client.status("my_service")
    [request] = scripted_server.received
    assert request.headers["Authorization"] == f"Bearer {TOKEN}"
    assert TOKEN not in json.dumps(request.query) and TOKEN not in request.path


def test_url_and_token_come_from_the_environment(scripted_server, monkeypatch, tmp_path):
    scripted_server.answer("GET", "/status/x", json_answer(200, JOB))
    monkeypatch.setenv("QM_URL", scripted_server.url)
    monkeypatch.setenv("QM_TOKEN", "from-the-variable")
    Client().status("x")
    token_file = tmp_path / "token"
    token_file.write_text("  from-the-file\n")
    monkeypatch.setenv("QM_TOKEN_FILE", str(token_file))
    Client().status("x")
    Client(token="from-the-argument").status("x")
    sent = [request.headers["Authorization"] for request in scripted_server.received]
    assert sent == ["Bearer from-the-variable", "Bearer from-the-file", "Bearer from-the-argument"]


def test_the_default_url(monkeypatch):
    monkeypatch.delenv("QM_URL", raising=False)
    assert Client().url == "http://localhost:9090"


def test_a_status_document_becomes_a_job_and_keeps_fields_it_does_not_know(
    scripted_server, qm_client
):
    scripted_server.answer("GET", "/status/my_service", json_answer(200, JOB))
    job = qm_client.status("my_service")
    assert (job.id, job.status, job.exit_code, job.is_final) == (JOB["id"], "failed", 3, True)
    assert job.created_at.isoformat() == "2026-11-25T22:54:23.553007+00:00"
    assert job.finished_at.microsecond == 100000 and job.started_at is None
    assert job.labels is None
    assert job.document["a_field_of_a_newer_server"] == {"x": 1}
    assert "success" not in job.document


def test_a_wait_is_sent_as_a_number(scripted_server, qm_client):
    scripted_server.answer("GET", "/status/x", json_answer(200, JOB))
    qm_client.status("x", wait=5)
    assert scripted_server.received[0].query == {"wait": ["5"]}


def test_run_sends_the_fields_given_and_an_idempotency_key(scripted_server, qm_client):
    scripted_server.answer("POST", "/run", json_answer(200, {"success": True, "id": "abc"}))
    job_id = qm_client.run(
        "qm/busybox:latest", ["sh", "-c", "exit 3"], memory=64, env={"A": "1"}, labels={"l": "v"}
    )
    [request] = scripted_server.received
    assert job_id == "abc"
    assert request.json() == {
        "image": "qm/busybox:latest",
        "command": ["sh", "-c", "exit 3"],
        "memory": 64,
        "env": {"A": "1"},
        "labels": {"l": "v"},
    }
    assert len(request.headers["Idempotency-Key"]) == 36  # a uuid4


def test_run_retries_a_503_and_a_429_with_the_same_key(scripted_server, qm_client):
    scripted_server.answer(
        "POST",
        "/run",
        error(503, "Docker is unreachable", request_id="r1", retry_after="0"),
        error(429, "busy", retry_after="0"),
        json_answer(200, {"success": True, "id": "abc"}),
    )
    assert qm_client.run("img", idempotency_key="order-7421") == "abc"
    keys = [request.headers["Idempotency-Key"] for request in scripted_server.received]
    assert keys == ["order-7421"] * 3


def test_run_gives_up_after_its_attempts(scripted_server, qm_client):
    scripted_server.answer("POST", "/run", error(503, "Docker is unreachable", retry_after="0"))
    with pytest.raises(Unavailable) as raised:
        qm_client.run("img")
    assert len(scripted_server.received) == RUN_RETRIES.attempts
    assert (raised.value.code, raised.value.message) == (503, "Docker is unreachable")
    assert len({request.headers["Idempotency-Key"] for request in scripted_server.received}) == 1


def test_a_refusal_is_not_retried_and_names_its_fields(scripted_server, qm_client):
    fields = {"memory": ["must be between 6 and 4194304"]}
    scripted_server.answer(
        "POST", "/run", error(400, "invalid request", fields=fields, request_id="r2")
    )
    with pytest.raises(InvalidRequest) as raised:
        qm_client.run("img", memory=1)
    assert len(scripted_server.received) == 1
    assert (raised.value.code, raised.value.fields, raised.value.request_id) == (400, fields, "r2")
    assert "memory: must be between 6 and 4194304" in str(raised.value)


@pytest.mark.parametrize(
    ("code", "kind"), [(401, Unauthorized), (404, NotFound), (429, TooManyRequests)]
)
def test_each_error_code_has_its_exception(scripted_server, qm_client, code, kind):
    scripted_server.answer("POST", "/stop", error(code, "why", request_id="r3", retry_after="0"))
    with pytest.raises(kind) as raised:
        qm_client.stop("x")
    assert (raised.value.code, raised.value.message, raised.value.request_id) == (code, "why", "r3")


def test_an_answer_that_is_not_json_is_still_an_error(scripted_server, qm_client):
    page = b"<html><body><h1>502 Bad Gateway</h1>\n<hr>nginx</body></html>"
    scripted_server.answer("GET", "/nodes", Answer(502, page, {"Content-Type": "text/html"}))
    with pytest.raises(ServerFailed) as raised:
        qm_client.nodes()
    assert raised.value.code == 502
    assert "502 Bad Gateway" in raised.value.message and "\n" not in raised.value.message


def test_the_request_id_header_stands_in_for_a_body_without_one(scripted_server, qm_client):
    scripted_server.answer("GET", "/nodes", Answer(500, b"oops", {"X-Request-ID": "from-header"}))
    with pytest.raises(ServerFailed) as raised:
        qm_client.nodes()
    assert raised.value.request_id == "from-header"


def test_no_server_is_a_connection_error_naming_the_url_not_the_token():
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{unused.getsockname()[1]}"
    with pytest.raises(ConnectionFailed) as raised:
        Client(url, token=TOKEN, timeout=2).stop("x")
    assert raised.value.code is None
    assert f"POST {url}/stop" in str(raised.value)
    assert TOKEN not in str(raised.value)


def test_jobs_walks_the_pages_as_it_is_read(scripted_server, qm_client):
    def page(names, cursor):
        jobs = [{**JOB, "id": name, "name": name} for name in names]
        return json_answer(200, {"success": True, "jobs": jobs, "next_cursor": cursor})

    scripted_server.answer(
        "GET", "/jobs", page(["a", "b"], "c1"), page(["c", "d"], "c2"), page(["e"], None)
    )
    listed = qm_client.jobs(status=["failed", "complete"], labels={"team": "a"}, page_size=2)
    assert next(listed).name == "a"
    assert len(scripted_server.received) == 1  # lazily: one page so far
    assert [job.name for job in listed] == ["b", "c", "d", "e"]
    queries = [request.query for request in scripted_server.received]
    assert [query.get("cursor") for query in queries] == [None, ["c1"], ["c2"]]
    assert queries[0] == {"status": ["failed", "complete"], "label": ["team=a"], "limit": ["2"]}


def test_jobs_of_a_template_and_the_tick_they_ran_for(scripted_server, qm_client):
    tick = "2026-12-08T02:00:00.000000000Z"
    job = {**JOB, "template": "nightly", "scheduled_for": tick}
    scripted_server.answer(
        "GET", "/jobs", json_answer(200, {"success": True, "jobs": [job], "next_cursor": None})
    )
    (listed,) = qm_client.jobs(template="nightly")
    assert scripted_server.received[0].query["template"] == ["nightly"]
    assert listed.template == "nightly"
    assert listed.scheduled_for == datetime(2026, 12, 8, 2, 0, tzinfo=UTC)


def test_template_runs_walk_their_pages_and_a_template_shows_its_schedule(
    scripted_server, qm_client
):
    tick = "2026-12-08T02:00:00.000000000Z"
    fired = {"tick": tick, "outcome": "fired", "job_id": "j1", "status": "complete", "reason": None}
    missed = {**fired, "outcome": "missed", "job_id": None, "status": None, "reason": "down"}
    scripted_server.answer(
        "GET",
        "/templates/nightly/runs",
        json_answer(200, {"success": True, "runs": [fired], "next_cursor": 17}),
        json_answer(200, {"success": True, "runs": [missed], "next_cursor": None}),
    )
    runs = list(qm_client.template_runs("nightly", page_size=1))
    assert [(run.outcome, run.job_id, run.status) for run in runs] == [
        ("fired", "j1", "complete"),
        ("missed", None, None),
    ]
    assert runs[0].tick == datetime(2026, 12, 8, 2, tzinfo=UTC) and runs[1].reason == "down"
    assert [request.query.get("cursor") for request in scripted_server.received] == [None, ["17"]]
    schedule = {"cron": "0 3 * * *", "timezone": "Europe/Berlin", "overlap": "forbid"}
    schedule |= {"catch_up": 0, "paused": False, "description": "At 03:00", "next": [tick]}
    document = {"success": True, "name": "nightly", "request": {}, "schedule": schedule}
    scripted_server.answer("GET", "/templates/nightly", json_answer(200, document))
    template = qm_client.template("nightly")
    assert template.schedule == schedule
    assert template.next_ticks == [datetime(2026, 12, 8, 2, tzinfo=UTC)]


def test_jobs_stops_at_its_limit_without_reading_more_pages(scripted_server, qm_client):
    jobs = [{**JOB, "id": name} for name in "abc"]
    scripted_server.answer(
        "GET", "/jobs", json_answer(200, {"success": True, "jobs": jobs, "next_cursor": "x"})
    )
    assert [job.id for job in qm_client.jobs(limit=2, page_size=3)] == ["a", "b"]
    assert len(scripted_server.received) == 1 and scripted_server.received[0].query["limit"] == [
        "2"
    ]


def test_nodes(scripted_server, qm_client):
    node = {
        "id": "n1",
        "hostname": "lab-worker-1",
        "role": "worker",
        "state": "ready",
        "availability": "active",
        "memory_mb": 23996,
        "cpus": 2.0,
        "reserved_memory_mb": 300,
        "reserved_cpus": 0.5,
        "free_memory_mb": 23696,
        "free_cpus": 1.5,
        "running_jobs": 1,
    }
    scripted_server.answer("GET", "/nodes", json_answer(200, {"success": True, "nodes": [node]}))
    [read] = qm_client.nodes()
    assert (read.hostname, read.free_memory_mb, read.reserved_cpus) == ("lab-worker-1", 23696, 0.5)


def test_history(scripted_server, qm_client):
    document = {
        "success": True,
        "id": "abc",
        "request": {"image": "img", "env": {"A": None}},
        "timeline": [
            {"at": "2026-11-25T22:54:23.5Z", "status": "pending", "state": "new", "detail": None},
            {
                "at": "2026-11-25T22:54:25Z",
                "status": "complete",
                "state": "complete",
                "detail": "x",
            },
        ],
    }
    scripted_server.answer("GET", "/history/abc", json_answer(200, document))
    history = qm_client.history("abc")
    assert history.request == {"image": "img", "env": {"A": None}}
    assert [entry.status for entry in history.timeline] == ["pending", "complete"]
    assert history.timeline[0].at.microsecond == 500000


def test_health_answers_an_unhealthy_server_with_its_report(scripted_server):
    healthy = {"success": True, "docker": "ok"}
    unhealthy = {"success": False, "code": 503, "error": "the reaper made no progress for 70s",
                 "reaper": {"state": "stuck"}}  # fmt: skip
    scripted_server.answer(
        "GET", "/healthz", json_answer(200, healthy), json_answer(503, unhealthy)
    )
    without_token = Client(scripted_server.url, timeout=5)
    assert without_token.health() == healthy
    assert without_token.health() == unhealthy
    assert "Authorization" not in scripted_server.received[0].headers


def test_a_reference_is_one_path_segment_whatever_it_holds(scripted_server, qm_client):
    with pytest.raises(NotFound):
        qm_client.status("a/../b?wait=1")
    assert scripted_server.received[0].path == "/status/a%2F..%2Fb%3Fwait%3D1"


def test_a_json_answer_that_is_not_an_object_is_an_error(scripted_server, qm_client):
    scripted_server.answer(
        "GET", "/nodes", Answer(200, b"[1]", {"Content-Type": "application/json"})
    )
    with pytest.raises(QuartermasterError):
        qm_client.nodes()


def test_labels_are_read_when_the_document_has_them():
    assert Job.from_document({**JOB, "labels": {"a": "b"}}).labels == {"a": "b"}


@pytest.mark.parametrize("code", [301, 302, 307, 308])
def test_no_redirect_is_followed_and_its_location_is_named(
    scripted_server, qm_client, elsewhere, code
):
    location = f"{elsewhere.url}/run"
    scripted_server.answer("POST", "/run", Answer(code, b"", {"Location": location}))
    elsewhere.answer("POST", "/run", json_answer(200, {"success": True, "id": "stolen"}))
    with pytest.raises(Redirected) as raised:
        qm_client.run("img", env={"SECRET": "an-env-value"}, auth="cmVnaXN0cnktYXV0aA==")
    assert elsewhere.received == []
    assert len(scripted_server.received) == 1  # a redirect is not retried either
    assert (raised.value.code, raised.value.location) == (code, location)
    assert location in str(raised.value) and TOKEN not in str(raised.value)


@pytest.mark.parametrize("code", [301, 302, 307, 308])
def test_no_read_or_log_follows_a_redirect(scripted_server, qm_client, elsewhere, code):
    for path in ("/status/x", "/logs/x"):
        scripted_server.answer("GET", path, Answer(code, b"", {"Location": elsewhere.url + path}))
        elsewhere.answer("GET", path, json_answer(200, JOB))
    with pytest.raises(Redirected, match=f"{elsewhere.url}/status/x"):
        qm_client.status("x")
    with pytest.raises(Redirected, match=f"{elsewhere.url}/logs/x"):
        list(qm_client.log_bytes("x"))
    assert elsewhere.received == []


def test_a_redirect_without_a_location_is_still_an_error(scripted_server, qm_client):
    scripted_server.answer("GET", "/nodes", Answer(304, b""))
    with pytest.raises(Redirected, match="no Location"):
        qm_client.nodes()


@pytest.fixture
def none_warned_yet(monkeypatch):
    monkeypatch.setattr(quartermaster.client.transport, "_warned_in_clear", set())


def test_a_token_for_plain_http_off_this_host_is_warned_about_once(none_warned_yet, recwarn):
    Client("http://10.77.0.5:9090", token=TOKEN)
    Client("http://10.77.0.5:9090/", token=TOKEN)  # the same server: said already
    Client("http://user:pw@QM.example.org", token=TOKEN)
    assert [warning.category for warning in recwarn] == [PlainHttpTokenWarning] * 2
    first, second = (str(warning.message) for warning in recwarn)
    assert first.startswith("the token goes to http://10.77.0.5:9090 in clear text")
    assert second.startswith("the token goes to http://qm.example.org in clear text")
    assert "pw" not in second and TOKEN not in first + second
    assert recwarn[0].filename == __file__  # it points at the caller's Client(...)


@pytest.mark.parametrize(
    "url",
    ["https://qm.example.org", "http://localhost:9090", "http://LOCALHOST.", "http://127.0.0.1",
     "http://127.8.9.10:80", "http://[::1]:9090", "http://[::ffff:127.0.0.1]"],
)  # fmt: skip
def test_no_warning_for_https_or_loopback_or_without_a_token(none_warned_yet, recwarn, url):
    Client(url, token=TOKEN)
    Client("http://10.77.0.5:9090", token=None)
    assert [str(warning.message) for warning in recwarn] == []
