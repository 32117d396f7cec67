"""Jobs with owners (the unit tier's app over the in-memory runtime; on the lab:
tests/lab/test_tenants_lab.py): a tenant's key runs jobs its tenant owns and that meet its policy;
it sees and acts on those alone, and another tenant's job answers exactly as one that does not
exist, live or archived, by id, name or prefix; names and Idempotency-Keys are each tenant's."""

import pytest

from support.api import ApiClient, assert_error
from support.settings import BEARER
from support.tenants import bearer, make_key, make_tenant

ALL_RIGHTS = ["read", "run", "stop"]
SLEEPER = {"image": "qm/busybox:latest", "command": ["sleep", "60"], "memory": 64, "cpus": 0.1}


@pytest.fixture
def teams(flask_client) -> dict[str, ApiClient]:
    """The operator, and a key with every job right for each of team-a and team-b."""
    clients = {"operator": ApiClient(flask_client)}
    for team in ("team-a", "team-b"):
        make_tenant(flask_client, team)
        client = ApiClient(flask_client)
        client.headers = bearer(make_key(flask_client, team, "ci", ALL_RIGHTS)["key"])
        clients[team] = client
    return clients


def test_a_tenants_job_is_its_tenants_and_the_operator_sees_it(teams):
    job_id = teams["team-a"].run_ok(**SLEEPER, name="nightly")
    mine = teams["team-a"].status(job_id).get_json()
    assert (mine["tenant"], mine["name"]) == ("team-a", "nightly")
    assert teams["team-a"].status("nightly").get_json()["id"] == job_id
    seen = teams["operator"].status(job_id).get_json()
    assert seen["tenant"] == "team-a"
    # The operator names it by its service's name, which carries its tenant.
    assert teams["operator"].status("team-a_nightly").get_json()["id"] == job_id
    assert teams["operator"].job_ids("?tenant=team-a") == [job_id]
    assert teams["operator"].job_ids("?tenant=team-b") == []
    operators = teams["operator"].run_ok(**SLEEPER)
    assert teams["operator"].status(operators).get_json()["tenant"] is None
    assert set(teams["operator"].job_ids()) == {job_id, operators}


def test_another_tenants_job_is_one_that_does_not_exist_on_every_route(teams):
    job_id = teams["team-a"].run_ok(**SLEEPER, name="private")
    other = teams["team-b"]
    for reference in (job_id, job_id[:12], "private", "team-a_private"):
        for path in (f"/status/{reference}", f"/logs/{reference}", f"/history/{reference}",
                     f"/status/{reference}?wait=1", f"/logs/{reference}?follow=true"):  # fmt: skip
            missing = other.get(path.replace(reference, "nosuchjob"))
            assert (
                assert_error(other.get(path), 404)["error"] == assert_error(missing, 404)["error"]
            )
        assert_error(other.stop(reference), 404)
    assert other.job_ids() == [] and other.job_ids("?tenant=team-a") == []
    assert other.job_ids("?name=priv") == []
    # Still there, untouched.
    assert teams["team-a"].status(job_id).get_json()["status"] in ("pending", "started")


def test_a_stopped_jobs_record_is_its_tenants_alone(teams):
    job_id = teams["team-a"].run_ok(**SLEEPER, name="archived")
    assert teams["team-a"].stop(job_id).status_code == 200
    assert teams["team-a"].status(job_id).get_json()["status"] == "shutdown"
    other = teams["team-b"]
    for reference in (job_id, "archived", job_id[:10]):
        assert_error(other.status(reference), 404)
        assert_error(other.get(f"/logs/{reference}"), 404)
        assert_error(other.get(f"/history/{reference}"), 404)
        assert_error(other.stop(reference), 404)
    history = teams["team-a"].get_ok(f"/history/{job_id}")
    assert (history["request"]["name"], history["tenant"]) == ("archived", "team-a")
    assert teams["operator"].get_ok(f"/history/{job_id}")["tenant"] == "team-a"


def test_names_and_idempotency_keys_are_each_tenants_own(teams):
    a = teams["team-a"].run_ok(**SLEEPER, name="nightly")
    b = teams["team-b"].run_ok(**SLEEPER, name="nightly")
    assert a != b
    assert teams["team-a"].status("nightly").get_json()["id"] == a
    assert teams["team-b"].status("nightly").get_json()["id"] == b
    assert_error(teams["team-a"].run(**SLEEPER, name="nightly"), 409)
    first = teams["team-a"].run_with_key("deploy-42", **SLEEPER)
    second = teams["team-b"].run_with_key("deploy-42", **SLEEPER)
    again = teams["team-a"].run_with_key("deploy-42", **SLEEPER)
    assert first.get_json()["id"] != second.get_json()["id"]
    assert again.get_json()["id"] == first.get_json()["id"]


def test_a_job_breaking_the_policy_is_refused_naming_what_broke_it(flask_client):
    make_tenant(
        flask_client, "strict", images=["qm/*"], constraints=["node.role==worker"],
        max_memory=128, max_cpus=0.5, max_timeout=300,
    )  # fmt: skip
    strict = ApiClient(flask_client)
    strict.headers = bearer(make_key(flask_client, "strict", "ci", ["run", "read"])["key"])
    refused = strict.run(image="evil/miner", memory=256, cpus=1, timeout=900)
    body = assert_error(refused, 403)
    assert set(body["fields"]) == {"image", "memory", "cpus", "timeout"}
    assert set(assert_error(strict.run(image="qm/busybox", memory=64), 403)["fields"]) == {"cpus"}
    # Within it: the tenant's constraints are added, and a missing timeout is its ceiling.
    job_id = strict.run_ok(image="qm/busybox:latest", memory=64, cpus=0.5)
    request = strict.get_ok(f"/history/{job_id}")["request"]
    assert (request["timeout"], request["constraints"][-1]) == (300, "node.role==worker")
    # The policy changed: in force for the next /run.
    assert flask_client.patch("/tenants/strict", json={"max_cpus": None}, headers=BEARER)
    assert strict.run(image="qm/busybox:latest", memory=64).status_code == 200


def test_a_key_acts_only_within_its_rights(flask_client):
    make_tenant(flask_client, "team-a")
    runner = ApiClient(flask_client)
    runner.headers = bearer(make_key(flask_client, "team-a", "runner", ["run"])["key"])
    reader = ApiClient(flask_client)
    reader.headers = bearer(make_key(flask_client, "team-a", "reader", ["read"])["key"])
    job_id = runner.run_ok(**SLEEPER)
    assert_error(runner.status(job_id), 403)
    assert_error(runner.get("/nodes"), 403)
    assert reader.status(job_id).status_code == 200
    assert reader.get("/nodes").status_code == 200
    assert_error(reader.stop(job_id), 403)
    assert_error(reader.run(**SLEEPER), 403)


def test_a_tenant_with_live_jobs_cannot_be_removed(flask_client, teams):
    job_id = teams["team-a"].run_ok(**SLEEPER)
    assert_error(flask_client.delete("/tenants/team-a", headers=BEARER), 409)
    assert teams["team-a"].stop(job_id).status_code == 200
    assert flask_client.delete("/tenants/team-a", headers=BEARER).status_code == 200
    # Its history stays, owned by its name.
    assert teams["operator"].status(job_id).get_json()["tenant"] == "team-a"
