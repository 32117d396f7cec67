"""Tenants and keys on the lab's PostgreSQL, across two instances (each a real server with its
own workers): a key made on one works on the other, and a revocation, an expiry or a removed
tenant holds on both within 2 s; tenants and keys outlive a restart."""

import secrets
import time

import pytest

from support.lab import wait_until
from support.postgres import fresh_database_url

pytestmark = pytest.mark.usefixtures("postgres")


@pytest.fixture
def two_instances(lab, live_server_factory):
    url = fresh_database_url()
    return [live_server_factory(env={"DATABASE_URL": url}) for _ in range(2)]


def whoami(server, key: str) -> int:
    return server.client(key).request("GET", "/whoami").status_code


def test_a_key_made_on_one_instance_works_and_is_revoked_on_both(two_instances):
    first, second = two_instances
    operator = first.client()
    assert operator.request("POST", "/tenants", json={"name": "team-a"}).status_code == 201
    made = operator.request(
        "POST", "/tenants/team-a/keys", json={"name": "ci", "rights": ["read", "run"]}
    ).json()
    who = second.client(made["key"]).request("GET", "/whoami").json()
    assert (who["tenant"], who["key"], who["rights"]) == ("team-a", "ci", ["read", "run"])
    assert second.client().request("GET", "/tenants/team-a/keys").json()["keys"][0]["name"] == "ci"
    # Revoked on the first; refused on both within 2 s (each worker keeps a key read 1 s).
    assert operator.request("DELETE", "/tenants/team-a/keys/ci").status_code == 200
    revoked_at = time.monotonic()
    wait_until(
        lambda: {whoami(first, made["key"]), whoami(second, made["key"])} == {401}, 5,
        "the revoked key still works",
    )  # fmt: skip
    assert time.monotonic() - revoked_at <= 2.5  # 2 s, and the requests' own time


def test_a_removed_tenants_keys_stop_and_tenants_outlive_a_restart(two_instances):
    first, second = two_instances
    operator = first.client()
    for name in ("team-a", "team-b"):
        assert operator.request("POST", "/tenants", json={"name": name}).status_code == 201
    kept = operator.request(
        "POST", "/tenants/team-b/keys", json={"name": "kept", "rights": ["read"]}
    ).json()["key"]
    doomed = operator.request(
        "POST", "/tenants/team-a/keys", json={"name": "ci", "rights": ["read"]}
    ).json()["key"]
    assert whoami(second, doomed) == 200
    assert operator.request("DELETE", "/tenants/team-a").status_code == 200
    wait_until(lambda: whoami(second, doomed) == 401, 2.5, "a removed tenant's key still works")
    second.stop()
    second.start()
    assert whoami(second, kept) == 200
    names = [t["name"] for t in second.client().request("GET", "/tenants").json()["tenants"]]
    assert names == ["team-b"]


@pytest.fixture
def tenant_clients(lab, live_server):
    """A key with every job right for each of two fresh tenants of the module's server."""
    operator = live_server.client()
    clients = {}
    for team in (f"a-{secrets.token_hex(3)}", f"b-{secrets.token_hex(3)}"):
        assert operator.request("POST", "/tenants", json={"name": team}).status_code == 201
        made = operator.request(
            "POST", f"/tenants/{team}/keys", json={"name": "ci", "rights": ["read", "run", "stop"]}
        ).json()
        clients[team] = live_server.client(made["key"])
    return clients


def test_two_tenants_jobs_of_one_name_on_the_swarm_each_its_own(lab, live_server, tenant_clients,
                                                                docker_client):  # fmt: skip
    (a, a_client), (b, b_client) = tenant_clients.items()
    body = {"image": lab.image, "command": ["sh", "-c", "echo hello-$0; sleep 30", a],
            "name": "nightly"}  # fmt: skip
    a_job = a_client.run_ok(**body)
    b_job = b_client.run_ok(**{**body, "command": ["sh", "-c", "echo hello-$0; sleep 30", b]})
    service = docker_client.api.inspect_service(a_job)
    assert service["Spec"]["Name"] == f"{a}_nightly"
    assert service["Spec"]["Labels"]["quartermaster.tenant"] == a
    for client, job_id, other_id in ((a_client, a_job, b_job), (b_client, b_job, a_job)):
        mine = client.request("GET", "/status/nightly").json()
        assert (mine["id"], mine["name"]) == (job_id, "nightly")
        # The other tenant's job, by id, prefix, its service's name: as if it did not exist.
        for reference in (other_id, other_id[:12], f"{b if client is a_client else a}_nightly"):
            for path in (f"/status/{reference}", f"/logs/{reference}?follow=true&tail=1",
                         f"/history/{reference}"):  # fmt: skip
                assert client.request("GET", path).status_code == 404, path
            assert client.request("POST", "/stop", json={"id": reference}).status_code == 404
        listed = [job["id"] for job in client.request("GET", "/jobs").json()["jobs"]]
        assert listed == [job_id]
    wait_until(
        lambda: "hello-" + a in a_client.request("GET", "/logs/nightly").text, 60, "no output"
    )
    operator = live_server.client()
    assert operator.request("GET", f"/status/{a}_nightly").json()["tenant"] == a
    assert a_client.request("POST", "/stop", json={"id": "nightly"}).status_code == 200
    assert operator.request("GET", f"/status/{b_job}").json()["status"] in ("pending", "started")
    assert b_client.request("POST", "/stop", json={"id": "nightly"}).status_code == 200
