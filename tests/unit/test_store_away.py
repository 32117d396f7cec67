"""The record store out of reach, over the fake runtime: live jobs are run, read and stopped on
the runtime alone; what needs the history is a JSON 503; a stopped job is halted, not removed,
its log set aside first (halting loses its runs' output), so the reaper can still record it,
its log with it, once the store is back."""

import time

import pytest

from quartermaster.compose import compose_app
from quartermaster.jobs import labels
from quartermaster.jobs.audit import AuditQuery
from quartermaster.reaper.recording import Recorder
from quartermaster.store import RecordStore
from quartermaster.store.audit import AuditStore
from support.api import ApiClient
from support.fake_runtime import FakeRuntime
from support.settings import make_config
from support.store_cases import kept_lines

UNREACHABLE = "the record store cannot be reached"
# A directory that cannot be made: every use of the store fails, as with a database away.
STORE_AWAY = "sqlite:////proc/no-such-dir/quartermaster.db"
PRINTS = "sh -c 'echo kept-out; echo kept-err >&2; sleep 30'"
PRINTED = [(1, b"kept-out\n"), (2, b"kept-err\n")]


@pytest.fixture
def runtime():
    return FakeRuntime(make_config())


@pytest.fixture
def api(runtime):
    store = RecordStore(STORE_AWAY)
    return ApiClient(compose_app(make_config(), runtime, store).test_client(), poll_seconds=0.02)


def test_live_jobs_work_without_the_store(api, runtime):
    job_id = api.run_ok(image="busybox", command="sh -c 'echo hi; sleep 30'")
    assert api.wait_for(job_id, "started")["status"] == "started"
    assert api.stop(job_id).get_json() == {"success": True, "id": job_id}
    # Halted, not removed: the runtime still holds it, shutdown, with what it printed.
    assert runtime.job_status(job_id).status == "shutdown"
    assert api.status(job_id).get_json()["status"] == "shutdown"
    assert [line.text for line in runtime.capture_log(job_id, 4096).lines] == [b"hi\n"]


@pytest.mark.parametrize(
    "path", ["/jobs", "/status/nosuchjob", "/logs/nosuchjob", "/history/nosuchjob"]
)
def test_what_needs_the_history_is_a_json_503(api, path):
    response = api.get(path)
    assert response.status_code == 503
    assert response.get_json()["error"] == UNREACHABLE


class FakeReaping:
    """The reaper's swarm calls a recording round makes, over the fake runtime."""

    def __init__(self, runtime):
        self._runtime = runtime

    def node_names(self):
        return {}  # the fake's nodes are not named as the swarm's

    def service_exists(self, job_id):
        return bool(self._runtime.job_statuses([job_id]))


@pytest.fixture
def config():
    return make_config()


@pytest.fixture
def store(config):
    """The store as it is once back (the app of `api` never reaches it)."""
    store = RecordStore(config.store_url)
    yield store
    store.close()


@pytest.fixture
def recorded_api(runtime, config, store):
    """An app on the same runtime whose store answers: /run while the store was there."""
    return ApiClient(compose_app(config, runtime, store).test_client(), poll_seconds=0.02)


def a_recording_round(runtime, store, config) -> set[str]:
    """What a reaper round records of the runtime's jobs (the fake has no reaper of its own)."""
    services = runtime.services()
    statuses = runtime.job_statuses([service["ID"] for service in services])
    recorder = Recorder(runtime, FakeReaping(runtime), store, config.log_keep_bytes)
    return recorder.record(services, statuses, store.live(), time.time(), config.ttl)


def test_a_job_stopped_while_the_store_is_away_is_recorded_with_its_log_once_it_is_back(
    api, recorded_api, runtime, store, config
):
    job_id = recorded_api.run_ok(image="busybox", command=PRINTS)
    recorded_api.wait_for_lines(job_id, 2)
    assert api.stop(job_id).get_json() == {"success": True, "id": job_id}  # the store away
    assert runtime.job_status(job_id).status == "shutdown"
    assert recorded_api.logs(job_id) == ""  # halted: its runs' output is gone from the runtime
    assert a_recording_round(runtime, store, config) == {job_id}
    assert store.status(job_id).status == "shutdown"
    assert kept_lines(store, job_id) == PRINTED


def test_a_job_stopped_while_the_store_is_away_then_again_once_it_is_back_keeps_its_log(
    api, recorded_api, runtime, store
):
    job_id = recorded_api.run_ok(image="busybox", command=PRINTS)
    recorded_api.wait_for_lines(job_id, 2)
    assert api.stop(job_id).status_code == 200  # halted, the store away
    assert recorded_api.stop(job_id).get_json() == {"success": True, "id": job_id}
    assert runtime.job_statuses([job_id]) == {}  # removed, its record written
    assert recorded_api.logs(job_id).splitlines() == ["kept-out", "kept-err"]
    assert store.status(job_id).status == "shutdown"


@pytest.mark.parametrize("recorded_at_run", [True, False])
def test_a_job_timed_out_while_the_store_is_away_is_recorded_with_its_log_once_it_is_back(
    api, recorded_api, runtime, store, config, recorded_at_run
):
    """The reaper's timeout: its final record cannot be written now (the store away, or the job
    was made while it was, and has no record): the log is set aside before its runs stop."""
    job_id = (recorded_api if recorded_at_run else api).run_ok(
        image="busybox", command=PRINTS, timeout=1
    )
    recorded_api.wait_for_lines(job_id, 2)
    away = RecordStore(STORE_AWAY)
    recorder = Recorder(runtime, FakeReaping(runtime), away, config.log_keep_bytes)
    service = {"ID": job_id, "Spec": {"Labels": {labels.TIMEOUT: "1"}}}
    status = runtime.job_status(job_id)
    assert recorder.finish_timed_out(service, status, time.time(), has_record=recorded_at_run)
    runtime.halt_job(job_id)  # as the swarm's time_out does: its runs stop, their output goes
    # Without a record: the round makes one from its service, then writes its final record.
    assert a_recording_round(runtime, store, config) == {job_id}
    assert kept_lines(store, job_id) == PRINTED


def test_a_job_stopped_while_the_store_is_away_then_removed_by_hand_is_lost_with_its_log(
    api, recorded_api, runtime, store, config
):
    job_id = recorded_api.run_ok(image="busybox", command=PRINTS)
    recorded_api.wait_for_lines(job_id, 2)
    assert api.stop(job_id).status_code == 200  # halted, its log set aside, the store away
    runtime.stop_job(job_id)  # `docker service rm` meanwhile
    assert a_recording_round(runtime, store, config) == set()
    assert store.status(job_id).status == "lost"
    assert kept_lines(store, job_id) == PRINTED


def audit_trail(store) -> list[tuple[str, str, str | None]]:
    """(action, actor, target) of every audit entry, oldest first."""
    page = AuditStore(store.connection).page(AuditQuery(limit=1000))
    return [(entry.action, entry.actor, entry.target) for entry in reversed(page.entries)]


def test_a_run_and_a_stop_made_while_the_store_is_away_are_audited_once_it_is_back(
    api, recorded_api, runtime, store, config
):
    job_id = api.run_ok(image="busybox", command=PRINTS)  # no record, no entry: the store away
    api.wait_for(job_id, "started")
    assert audit_trail(store) == []
    assert api.stop(job_id).status_code == 200  # halted, noted on its service who stopped it
    assert a_recording_round(runtime, store, config) == {job_id}
    # The reaper wrote the record (its /run's entry with it) and the final record (the stop's).
    assert audit_trail(store) == [("run", "operator", job_id), ("stop", "operator", job_id)]
    assert a_recording_round(runtime, store, config) == {job_id}
    assert len(audit_trail(store)) == 2  # once each
