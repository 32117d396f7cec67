"""Every route against every kind of caller, on the lab: the operator, its own tenant's key,
another tenant's key, a key lacking the route's right, a revoked key, an expired key; each
answered with the code it must be, streams included (a followed log, a wait)."""

import time

import pytest

from support.lab import wait_until
from support.settings import TOKEN

CALLERS = ("operator", "own", "other", "lacking", "revoked", "expired")
A, B = "matrix-a", "matrix-b"


@pytest.fixture(scope="module")
def keys(lab, live_server) -> dict[str, str]:
    """A token or key for each caller (team A's job is what they reach for)."""
    operator = live_server.client()
    for team in (A, B):
        assert operator.request("POST", "/tenants", json={"name": team}).status_code == 201

    def key(team: str, name: str, rights: list[str], **fields) -> str:
        body = {"name": name, "rights": rights, **fields}
        answer = operator.request("POST", f"/tenants/{team}/keys", json=body)
        assert answer.status_code == 201, answer.text
        return answer.json()["key"]

    every = ["read", "run", "stop"]
    made = {
        "operator": TOKEN,
        "own": key(A, "own", every),
        "other": key(B, "other", every),
        "lacking": key(A, "lacking", ["keys"]),
        "revoked": key(A, "revoked", every),
        "expired": key(A, "expired", every, expires_in=1),
    }
    assert operator.request("DELETE", f"/tenants/{A}/keys/revoked").status_code == 200
    time.sleep(1.5)  # the expiry, and the workers' second of keys read
    return made


@pytest.fixture(scope="module")
def jobs(lab, live_server, keys) -> dict[str, str]:
    """Team A's job, ended (its record answers once its service goes, after the first test)."""
    own = live_server.client(keys["own"])
    done = own.run_ok(image=lab.image, command="echo hi")
    wait_until(lambda: own.status(done)["status"] == "complete", 60, "the job never ended")
    return {"done": done}


# (method, path, the expected code of each caller in CALLERS' order); {done}: team A's job.
READ = (200, 200, 404, 403, 401, 401)
ROUTES = [
    ("GET", "/status/{done}", READ),
    ("GET", "/status/{done}?wait=1", READ),
    ("GET", "/logs/{done}", READ),
    ("GET", "/logs/{done}?follow=true", READ),
    ("GET", "/logs/{done}?tail=1&timestamps=true", READ),
    ("GET", "/history/{done}", READ),
    ("GET", "/jobs", (200, 200, 200, 403, 401, 401)),
    ("GET", "/nodes", (200, 200, 200, 403, 401, 401)),
    ("GET", "/whoami", (200, 200, 200, 200, 401, 401)),
    ("GET", "/tenants", (200, 403, 403, 403, 401, 401)),
    ("GET", f"/tenants/{A}", (200, 403, 403, 403, 401, 401)),
    # Team B's key lacks `keys`: refused before any tenant is looked up (as for a tenant that
    # does not exist); one with `keys` gets a 404 (test_tenants.py).
    ("GET", f"/tenants/{A}/keys", (200, 403, 403, 200, 401, 401)),
    ("GET", "/audit", (200, 403, 403, 200, 401, 401)),
    # Its own tenant's usage to a key with `read`; another tenant's is one that does not exist.
    ("GET", f"/tenants/{A}/usage", READ),
    ("GET", "/metrics", (200, 403, 403, 403, 401, 401)),
]


@pytest.mark.parametrize(("method", "path", "codes"), ROUTES, ids=[r[1] for r in ROUTES])
def test_each_caller_gets_its_code(live_server, keys, jobs, method, path, codes):
    url = path.format(**jobs)
    got = {
        caller: live_server.client(keys[caller]).request(method, url).status_code
        for caller in CALLERS
    }
    assert got == dict(zip(CALLERS, codes, strict=True))


def test_jobs_lists_a_tenants_job_to_it_and_the_operator_alone(live_server, keys, jobs):
    def listed(caller: str) -> set[str]:
        answer = live_server.client(keys[caller]).request("GET", "/jobs?limit=1000")
        return {job["id"] for job in answer.json()["jobs"]}

    assert jobs["done"] in listed("operator") and jobs["done"] in listed("own")
    assert jobs["done"] not in listed("other")


def test_run_and_stop_by_each_caller(lab, live_server, keys):
    for caller, code in zip(CALLERS, (200, 200, 200, 403, 401, 401), strict=True):
        answer = live_server.client(keys[caller]).run(image=lab.image, command="true")
        assert answer.status_code == code, (caller, answer.text)
    own = live_server.client(keys["own"])
    running = own.run_ok(image=lab.image, command="sleep 120")
    for caller, code in (("other", 404), ("lacking", 403), ("revoked", 401), ("expired", 401)):
        assert live_server.client(keys[caller]).stop(running).status_code == code, caller
    assert own.status(running)["status"] in ("pending", "started")  # untouched
    assert own.stop(running).status_code == 200
