"""Quotas (the unit tier's app over the in-memory runtime; on the lab: test_quotas_lab.py): a
tenant's job that does not fit its quota is accepted and queued, admitted first come first as
room frees (here by /stop and by raising the quota: the reaper's own admissions are the lab's);
what could never fit is refused, and so is a full queue and a /run past runs_per_minute."""

import time

import pytest

from quartermaster.jobs import audit
from quartermaster.jobs.history import recorded_request
from quartermaster.jobs.spec import JobSpec
from quartermaster.jobs.tenancy import (
    OPERATOR,
    Footprint,
    TenantQuota,
    quota_breaches,
    waiting_reason,
)
from quartermaster.service.quotas import Quotas
from quartermaster.store import RecordStore
from quartermaster.store.admission import AdmissionStore
from quartermaster.store.audit import AuditStore
from support.api import ApiClient, assert_error
from support.settings import make_config
from support.store_cases import make_quota_tenant
from support.tenants import bearer, make_key, make_tenant

SLEEPER = {"image": "qm/busybox:latest", "command": ["sleep", "60"], "memory": 64, "cpus": 0.1}


def test_a_jobs_footprint_is_its_runs_at_once():
    assert Footprint.of(JobSpec("i", memory_mb=64, cpus=0.5)) == Footprint(64, 0.5)
    parallel = JobSpec("i", memory_mb=64, cpus=0.5, type="job", completions=10, parallelism=3)
    assert Footprint.of(parallel) == Footprint(192, 1.5)
    few = JobSpec("i", memory_mb=64, type="job", completions=2, parallelism=5)
    assert Footprint.of(few) == Footprint(128, 0.0)


def test_what_could_never_fit_is_named_and_what_waits_says_why():
    quota = TenantQuota(memory=256, cpus=1.0, jobs=2)
    assert quota_breaches(quota, JobSpec("i", memory_mb=256, cpus=1.0)) == {}
    breaches = quota_breaches(quota, JobSpec("i", memory_mb=512))
    assert set(breaches) == {"memory", "cpus"}
    assert "512 MB at once is above this tenant's memory quota of 256 MB" in breaches["memory"][0]
    live = Footprint(192, 0.3, 1)
    assert waiting_reason("team-a", quota, live, Footprint(64, 0.7)) is None
    assert (
        waiting_reason("team-a", quota, live, Footprint(128, 0.1))
        == "tenant team-a: memory quota 256 MB, 192 MB in use"
    )
    assert (
        waiting_reason("team-a", quota, Footprint(0, 0.0, 2), Footprint(1, 0.1))
        == "tenant team-a: jobs quota 2, 2 live"
    )
    # Three jobs of 0.1 fit 0.3, float sums notwithstanding.
    three = TenantQuota(cpus=0.3)
    assert waiting_reason("t", three, Footprint(0, 0.1 + 0.1, 2), Footprint(0, 0.1)) is None


@pytest.fixture
def team(flask_client) -> ApiClient:
    """team-a, with a quota of 2 live jobs, and a key with every job right."""
    make_tenant(flask_client, "team-a", quota={"jobs": 2})
    client = ApiClient(flask_client)
    client.headers = bearer(make_key(flask_client, "team-a", "ci", ["read", "run", "stop"])["key"])
    return client


def test_a_quota_is_set_shown_and_changed_field_by_field(flask_client):
    operator = ApiClient(flask_client)
    made = make_tenant(flask_client, "team-q", quota={"memory": 4096, "runs_per_minute": 30})
    assert made["quota"] == {
        "memory": 4096, "cpus": None, "jobs": None, "queued": 1000, "runs_per_minute": 30
    }  # fmt: skip
    assert made["weight"] == 1
    changed = flask_client.patch(
        "/tenants/team-q", json={"quota": {"jobs": 5, "memory": None}, "weight": 3},
        headers=operator.headers,
    )  # fmt: skip
    assert changed.status_code == 200, changed.get_json()
    assert changed.get_json()["quota"] == {
        "memory": None, "cpus": None, "jobs": 5, "queued": 1000, "runs_per_minute": 30
    }  # fmt: skip
    assert operator.get_ok("/tenants/team-q")["weight"] == 3
    for bad in ({"jobs": 0}, {"memory": "lots"}, {"gpus": 1}, {"queued": None}):
        answer = flask_client.patch(
            "/tenants/team-q", json={"quota": bad}, headers=operator.headers
        )
        assert "quota" in assert_error(answer, 400)["fields"], bad
    assert (
        "weight"
        in assert_error(
            flask_client.patch("/tenants/team-q", json={"weight": 0}, headers=operator.headers), 400
        )["fields"]
    )


def test_a_job_past_the_quota_is_queued_and_admitted_when_room_frees(team):
    first, second = team.run_ok(**SLEEPER), team.run_ok(**SLEEPER)
    third = team.run_ok(**SLEEPER, name="third")
    fourth = team.run_ok(**SLEEPER)
    for job_id in (first, second):
        assert team.status(job_id).get_json()["status"] in ("pending", "started")
    waiting = team.status(third).get_json()
    assert (waiting["status"], waiting["queue_position"], waiting["attempts"]) == ("queued", 1, 0)
    assert waiting["error"] == "tenant team-a: jobs quota 2, 2 live"
    assert team.status("third").get_json()["id"] == third  # by name, as any job
    behind = team.status(fourth).get_json()
    assert (behind["status"], behind["queue_position"]) == ("queued", 2)
    assert sorted(team.job_ids("?status=queued")) == sorted([third, fourth])
    assert team.stop(first).status_code == 200
    admitted = team.status(third).get_json()
    assert admitted["status"] in ("pending", "started")
    assert admitted["queue_position"] is None
    assert team.status(fourth).get_json()["queue_position"] == 1
    history = team.get_ok(f"/history/{third}")
    assert [step["status"] for step in history["timeline"]][:1] == ["queued"]


def test_a_queued_job_stopped_never_runs_and_its_record_stays(team):
    team.run_ok(**SLEEPER)
    team.run_ok(**SLEEPER)
    queued = team.run_ok(**SLEEPER)
    after = team.run_ok(**SLEEPER)
    assert team.stop(queued).status_code == 200
    stopped = team.status(queued).get_json()
    assert (stopped["status"], stopped["attempts"], stopped["queue_position"]) == (
        "shutdown", 0, None
    )  # fmt: skip
    assert team.status(after).get_json()["queue_position"] == 1
    assert queued in team.job_ids("?status=shutdown")


def test_first_come_first_admitted_within_a_tenant(flask_client):
    make_tenant(flask_client, "team-m", quota={"memory": 256})
    team = ApiClient(flask_client)
    team.headers = bearer(make_key(flask_client, "team-m", "ci", ["read", "run", "stop"])["key"])
    big = {**SLEEPER, "memory": 192}
    running = team.run_ok(**big)
    large = team.run_ok(**big)  # waits for 192 MB
    small = team.run_ok(**{**SLEEPER, "memory": 32})  # would fit, but comes after
    assert team.status(large).get_json()["status"] == "queued"
    waiting = team.status(small).get_json()
    assert (waiting["status"], waiting["queue_position"]) == ("queued", 2)
    assert team.stop(running).status_code == 200
    assert team.status(large).get_json()["status"] in ("pending", "started")
    assert team.status(small).get_json()["status"] in ("pending", "started")


def test_raising_the_quota_admits_what_fits_now(flask_client, team):
    jobs = [team.run_ok(**SLEEPER) for _ in range(4)]
    assert [team.status(job).get_json()["status"] for job in jobs].count("queued") == 2
    answer = flask_client.patch(
        "/tenants/team-a", json={"quota": {"jobs": 3}}, headers=ApiClient(flask_client).headers
    )
    assert answer.status_code == 200
    assert [team.status(job).get_json()["status"] for job in jobs].count("queued") == 1


def test_what_could_never_fit_is_refused_naming_the_field(flask_client):
    make_tenant(flask_client, "team-c", quota={"memory": 128, "cpus": 0.5})
    team = ApiClient(flask_client)
    team.headers = bearer(make_key(flask_client, "team-c", "ci", ["read", "run"])["key"])
    refused = assert_error(team.run(**{**SLEEPER, "memory": 256}), 403)
    assert set(refused["fields"]) == {"memory"}
    no_cpus = {key: value for key, value in SLEEPER.items() if key != "cpus"}
    assert set(assert_error(team.run(**no_cpus), 403)["fields"]) == {"cpus"}
    assert team.job_ids() == []
    audit = ApiClient(flask_client).get_ok("/audit?action=run_refused&tenant=team-c")
    assert [entry["code"] for entry in audit["entries"]] == [403, 403]


def test_a_full_queue_refuses_and_makes_no_job(flask_client):
    make_tenant(flask_client, "team-f", quota={"jobs": 1, "queued": 1})
    team = ApiClient(flask_client)
    team.headers = bearer(make_key(flask_client, "team-f", "ci", ["read", "run"])["key"])
    team.run_ok(**SLEEPER)
    team.run_ok(**SLEEPER)
    refused = assert_error(team.run(**SLEEPER), 429)
    assert "queue holds 1 jobs" in refused["error"]
    assert len(team.job_ids()) == 2
    operator = ApiClient(flask_client)
    assert len(operator.job_ids("?tenant=team-f")) == 2
    assert operator.get_ok("/audit?action=run_refused&tenant=team-f")["entries"][0]["code"] == 429


def test_runs_past_runs_per_minute_are_refused_with_when_to_retry(flask_client):
    make_tenant(flask_client, "team-r", quota={"runs_per_minute": 2})
    team = ApiClient(flask_client)
    team.headers = bearer(make_key(flask_client, "team-r", "ci", ["read", "run"])["key"])
    team.run_ok(**SLEEPER)
    team.run_ok(**SLEEPER)
    refused = team.run(**SLEEPER)
    assert_error(refused, 429)
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    assert len(team.job_ids()) == 2


def test_without_a_cap_on_live_jobs_nothing_is_held(flask_client):
    make_tenant(flask_client, "team-n", quota={"runs_per_minute": 100})
    team = ApiClient(flask_client)
    team.headers = bearer(make_key(flask_client, "team-n", "ci", ["read", "run"])["key"])
    jobs = [team.run_ok(**SLEEPER) for _ in range(3)]
    assert all(team.status(job).get_json()["status"] != "queued" for job in jobs)
    operator = ApiClient(flask_client)
    assert operator.status(operator.run_ok(**SLEEPER)).get_json()["status"] != "queued"


def test_a_tenants_usage_is_its_own_and_the_operators_to_read(flask_client, team):
    team.run_ok(**SLEEPER)
    team.run_ok(**SLEEPER)
    team.run_ok(**SLEEPER)
    operator = ApiClient(flask_client)
    usage = operator.get_ok("/tenants/team-a/usage")
    assert usage["tenant"] == "team-a"
    assert usage["in_use"] == {"jobs": 2, "memory": 128, "cpus": 0.2, "queued": 1}
    assert sum(usage["jobs"].values()) == 3
    assert set(usage) >= {"since", "until", "run_seconds", "memory_mb_seconds", "cpu_seconds"}
    assert team.get_ok("/tenants/team-a/usage?since=0")["in_use"]["queued"] == 1
    listed = operator.get_ok("/tenants")["tenants"]
    assert [tenant["in_use"] for tenant in listed if tenant["name"] == "team-a"] == [
        usage["in_use"]
    ]
    make_tenant(flask_client, "team-b")
    other = ApiClient(flask_client)
    other.headers = bearer(make_key(flask_client, "team-b", "ci", ["read"])["key"])
    missing = assert_error(other.get("/tenants/nosuchteam/usage"), 404)["error"]
    assert assert_error(other.get("/tenants/team-a/usage"), 404)["error"] == missing
    blind = ApiClient(flask_client)
    blind.headers = bearer(make_key(flask_client, "team-a", "runner", ["run"])["key"])
    assert_error(blind.get("/tenants/team-a/usage"), 403)
    backwards = operator.get_ok("/tenants/team-a/usage?since=200&until=100")
    assert (backwards["jobs"], backwards["run_seconds"]) == ({}, 0)


def test_a_job_a_reaper_recorded_queued_before_its_run_did_is_admitted_by_that_run(runtime):
    """A reaper's round may record a held job before its /run's own record (it looked
    unrecorded): the /run then finds it waiting, and its tenant's queue is looked at at once."""
    store = RecordStore(make_config().store_url)
    make_quota_tenant(store, "team-i", TenantQuota(jobs=2))
    quotas = Quotas(runtime, AdmissionStore(store.connection), AuditStore(store.connection))
    job = JobSpec("qm/busybox:latest", ("sleep", "60"), memory_mb=64, tenant="team-i")
    job_id = runtime.create_job(job, held=True)
    held = runtime.new_job_status(job_id)
    assert held.status == "queued"
    request = recorded_request(job, env_values=False)
    store.add(held, request, 60, time.time())  # as the reaper imports it: waiting
    ran = audit.entry(OPERATOR, audit.RUN, job_id, "team-i")
    quotas.add_held(OPERATOR, held, request, 60, None, ran, runtime.room())
    assert runtime.job_status(job_id).status in ("pending", "started")
    assert not AdmissionStore(store.connection).anything_waiting()
    store.close()
