"""A job's defaults, applied once, by the service (service/jobs.py's create_job): the runtime is
given the complete job and an Idempotency-Key's hashes, never the key. (That the record is what
the job's service holds: the runtime contract, support/contract.py.)"""

import re

from quartermaster.compose import compose_app
from quartermaster.jobs.errors import StoreUnavailable
from quartermaster.jobs.idempotency import KeyHashes, key_hash, request_hash
from quartermaster.jobs.spec import JobDefaults, JobSpec
from quartermaster.store import RecordStore
from support.api import ApiClient
from support.fake_runtime import FakeRuntime
from support.settings import make_config

DEFAULTS = JobDefaults(memory_mb=96, constraints=("node.role==worker",), ttl=3600)


def test_what_a_request_leaves_out_takes_the_defaults():
    job = DEFAULTS.applied_to(JobSpec(image="busybox"))
    assert (job.memory_mb, job.constraints, job.ttl) == (96, ("node.role==worker",), 3600)
    assert re.fullmatch(r"job-[0-9a-f]{16}", job.name or "")
    assert job.cpus is None and job.timeout is None  # no default: no limit


def test_what_a_request_gives_is_kept_and_its_constraints_come_after_the_configured_ones():
    asked = JobSpec(
        image="busybox", name="mine", memory_mb=8, constraints=("node.labels.zone==a",), ttl=0
    )
    job = DEFAULTS.applied_to(asked)
    assert (job.name, job.memory_mb, job.ttl) == ("mine", 8, 0)
    assert job.constraints == ("node.role==worker", "node.labels.zone==a")


def test_the_runtime_gets_the_keys_hashes_of_the_request_as_sent_and_never_the_key(monkeypatch):
    config = make_config(memory_mb=96)
    runtime = FakeRuntime(config)
    given = []
    create = runtime.create_job

    def recording(job, key=None, held=False):
        given.append((job, key))
        return create(job, key, held)

    monkeypatch.setattr(runtime, "create_job", recording)
    api = ApiClient(compose_app(config, runtime).test_client())
    assert api.run_with_key("order-1", image="busybox", command="true").status_code == 200
    [(job, key)] = given
    assert job.idempotency_key is None and job.memory_mb == 96
    sent = JobSpec(image="busybox", command=("true",), idempotency_key="order-1")
    assert key == KeyHashes(key_hash("order-1"), request_hash(sent))
    assert "order-1" not in repr(runtime.service(api.job_ids()[0]))


def test_a_retry_after_the_defaults_changed_is_the_same_job():
    """The key's request hash is of the request as sent, not of the defaults it ran with."""
    before = make_config(memory_mb=96)
    runtime, store = FakeRuntime(before), RecordStore(before.store_url)
    try:
        first = ApiClient(compose_app(before, runtime, store).test_client())
        job_id = first.run_with_key("order-2", image="busybox", command="sleep 1").get_json()["id"]
        after = make_config(memory_mb=128, database_url=before.database_url)
        again = ApiClient(compose_app(after, runtime, store).test_client())
        answer = again.run_with_key("order-2", image="busybox", command="sleep 1")
        assert (answer.status_code, answer.get_json()["id"]) == (200, job_id)
    finally:
        store.close()


def test_a_retry_answered_by_the_swarm_does_not_record_its_own_request_for_that_job(
    api, app, monkeypatch
):
    """The first request's record could not be written (the store was away): the retry finds
    the key's job on the swarm. Its own request, with a name generated anew, is not what ran:
    the job is left for the reaper to record from its service, as any job made without the
    store."""
    add = app.jobs.store.add

    def store_away(*args, **kwargs):
        raise StoreUnavailable("the record store cannot be reached")

    monkeypatch.setattr(app.jobs.store, "add", store_away)
    job_id = api.run_with_key("order-3", image="busybox", command="sleep 1").get_json()["id"]
    monkeypatch.setattr(app.jobs.store, "add", add)
    again = api.run_with_key("order-3", image="busybox", command="sleep 1")
    assert (again.status_code, again.get_json()["id"]) == (200, job_id)
    assert api.get(f"/history/{job_id}").status_code == 404
