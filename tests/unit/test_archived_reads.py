"""A job whose service is gone (archived) is read from the store alone: no call to the runtime for
its /status (with or without a wait), /logs, /history or /stop, by id, name or prefix. A live job
is still read from the runtime, whatever the store holds; an archived status read lately is
answered without a statement, for ARCHIVED_KEPT_SECONDS, and a live job polled is asked of the
runtime first, without a statement. (On the lab, counted in Engine API
calls: tests/lab/test_stop_status.py.)"""

import time
from dataclasses import replace

import pytest

from quartermaster.compose import compose_app
from quartermaster.process import recent_reads
from quartermaster.process.recent_reads import (
    ARCHIVED_KEPT_SECONDS,
    ArchivedLogs,
    ArchivedStatuses,
    LiveReferences,
)
from quartermaster.store import RecordStore
from support.api import ApiClient
from support.counted_runtime import CountedRuntime
from support.fake_runtime import FakeRuntime
from support.settings import make_config


@pytest.fixture
def runtime() -> CountedRuntime:
    return CountedRuntime(FakeRuntime(make_config()))


@pytest.fixture
def config():
    return make_config()


@pytest.fixture
def store(config) -> RecordStore:
    return RecordStore(config.store_url)


@pytest.fixture
def api(config, runtime, store) -> ApiClient:
    return ApiClient(compose_app(config, runtime, store).test_client())


def archived_job(api, name: str) -> str:
    """A job that printed two lines and ended, stopped since: its record is all there is."""
    job_id = api.run_ok(image="busybox", command="sh -c 'echo one; echo two'", name=name)
    api.wait_for(job_id, "complete")
    assert api.stop(job_id).status_code == 200
    return job_id


@pytest.mark.parametrize("how", ["id", "name", "prefix"])
def test_an_archived_job_is_read_without_asking_the_runtime(api, runtime, how):
    job_id = archived_job(api, "nightly")
    reference = {"id": job_id, "name": "nightly", "prefix": job_id[:8]}[how]
    runtime.calls.clear()
    assert api.status(reference).get_json()["status"] == "complete"
    assert api.status(reference, "?wait=30").get_json()["status"] == "complete"  # at once
    assert api.logs(reference) == "one\ntwo\n"
    assert api.logs(reference, "?tail=1") == "two\n"
    assert api.get_ok(f"/history/{reference}")["id"] == job_id
    assert runtime.calls == []


def test_a_stop_of_an_archived_job_by_id_changes_nothing_and_asks_nothing(api, runtime):
    job_id = archived_job(api, "nightly")
    runtime.calls.clear()
    assert api.stop(job_id).get_json() == {"success": True, "id": job_id}
    assert runtime.calls == []


def test_a_live_job_is_read_from_the_runtime_though_an_archived_one_has_its_name(api, runtime):
    archived = archived_job(api, "nightly")
    live = api.run_ok(image="busybox", command="sleep 30", name="nightly")
    runtime.calls.clear()
    assert api.status("nightly").get_json()["id"] == live
    assert "job_status" in runtime.calls
    assert api.status(archived).get_json()["id"] == archived  # its full id: the archived one


def test_a_finished_job_whose_service_is_still_there_is_read_from_the_runtime(api, runtime):
    job_id = api.run_ok(image="busybox", command="echo done")
    api.wait_for(job_id, "complete")
    runtime.calls.clear()
    assert api.status(job_id).get_json()["status"] == "complete"
    assert runtime.calls == ["job_status"]


def test_an_archived_status_read_lately_is_answered_for_a_while_without_the_store(
    api, store, monkeypatch
):
    job_id = archived_job(api, "nightly")
    assert api.status(job_id).status_code == 200  # read from the store, and kept
    assert store.delete_expired(time.time() + 10**9) == 1  # as its ttl would
    assert api.status(job_id).get_json()["status"] == "complete"  # kept: no statement
    assert api.get(f"/logs/{job_id}").status_code == 404  # a log not read lately: from the store
    later = time.monotonic() + ARCHIVED_KEPT_SECONDS + 1
    monkeypatch.setattr(recent_reads.time, "monotonic", lambda: later)
    assert api.status(job_id).status_code == 404


def test_the_statuses_kept_are_the_newest_read_and_bounded(api, store, monkeypatch):
    monkeypatch.setattr(recent_reads, "ARCHIVED_KEPT_JOBS", 2)
    status = store.status(archived_job(api, "nightly"))
    kept = ArchivedStatuses()
    for job_id in ("a", "b", "c"):
        kept.keep(replace(status, id=job_id))
    assert [kept.get(job_id) for job_id in ("a", "b")] == [None, replace(status, id="b")]
    assert kept.get("c") == replace(status, id="c")


def test_an_archived_log_read_lately_is_answered_for_a_while_without_a_statement(
    api, store, monkeypatch
):
    job_id = archived_job(api, "nightly")
    reads: list[str] = []
    kept_log = store.kept_log
    monkeypatch.setattr(store, "kept_log", lambda job_id: reads.append(job_id) or kept_log(job_id))
    assert api.logs(job_id) == "one\ntwo\n"
    assert api.logs(job_id, "?tail=1") == "two\n"  # what is chosen of it: each request's own
    assert api.logs(job_id, "?stream=stderr") == ""
    assert reads == [job_id]
    later = time.monotonic() + ARCHIVED_KEPT_SECONDS + 1
    monkeypatch.setattr(recent_reads.time, "monotonic", lambda: later)
    assert api.logs(job_id) == "one\ntwo\n"
    assert reads == [job_id, job_id]


def test_the_logs_kept_are_the_newest_read_and_bounded_in_bytes():
    kept = ArchivedLogs(max_bytes=100)
    kept.keep("a", [(1, b"x" * 20)])
    kept.keep("b", [(1, b"y" * 20), (2, b"z" * 5)])
    kept.keep("too-large", [(1, b"w" * 26)])  # over a quarter of the bytes: not kept
    assert kept.get("too-large") is None
    for job_id in "cdef":
        kept.keep(job_id, [(1, b"v" * 20)])  # 125 bytes kept in all: "a" goes first
    assert kept.get("a") is None
    assert kept.get("b") is None  # 105: then "b"
    assert kept.get("c") == [(1, b"v" * 20)]
    kept.keep("c", [(1, b"u" * 10)])  # read again: replaced, counted once
    assert kept.get("f") == [(1, b"v" * 20)]


@pytest.fixture
def statements(store, monkeypatch) -> list[str]:
    """The store's reads that decide whether a reference is archived, counted."""
    counted: list[str] = []
    archived = store.archived

    def counted_archived(reference, tenant=None):
        counted.append(reference)
        return archived(reference, tenant)

    monkeypatch.setattr(store, "archived", counted_archived)
    return counted


@pytest.mark.parametrize("how", ["id", "name", "prefix"])
def test_a_live_job_polled_is_asked_of_the_runtime_without_a_statement(
    api, runtime, statements, how
):
    job_id = api.run_ok(image="busybox", command="sleep 30", name="nightly")
    reference = {"id": job_id, "name": "nightly", "prefix": job_id[:8]}[how]
    assert api.status(reference).get_json()["status"] in ("pending", "started", "running")
    statements.clear()
    runtime.calls.clear()
    assert api.status(reference).get_json()["id"] == job_id
    assert api.logs(reference) == ""
    assert api.get_ok(f"/history/{reference}")["id"] == job_id
    assert statements == []
    assert runtime.calls == ["job_status", "job_logs", "job_status"]


def test_a_job_found_live_and_gone_since_is_asked_of_the_store_after_one_call(
    api, runtime, statements
):
    job_id = api.run_ok(image="busybox", command="sh -c 'echo one; sleep 30'", name="nightly")
    api.wait_for(job_id, "started")
    assert api.status("nightly").get_json()["id"] == job_id  # found live, by its name
    assert api.stop(job_id).status_code == 200  # its full id: forgotten as live by the stop
    runtime.calls.clear()
    assert api.status(job_id).get_json()["status"] == "shutdown"
    assert runtime.calls == []
    assert api.status("nightly").get_json()["status"] == "shutdown"
    assert runtime.calls == ["job_status"]  # found gone once: the store first from now on
    assert api.logs("nightly") == "one\n"
    assert runtime.calls == ["job_status"]


def test_a_job_found_final_is_read_from_the_store_alone_once_its_service_is_gone(
    api, runtime, store
):
    job_id = api.run_ok(image="busybox", command="sleep 1")
    api.wait_for(job_id, "started")  # found live: asked of the runtime first
    assert api.status(job_id, "?wait=30").get_json()["status"] == "complete"  # final: forgotten
    now = time.time()
    assert store.finish(runtime.job_status(job_id), [], False, now)  # as the reaper records it
    runtime.stop_job(job_id)
    store.service_removed(job_id, now)
    runtime.calls.clear()
    assert api.status(job_id).get_json()["status"] == "complete"
    assert runtime.calls == []


def test_the_live_references_kept_are_the_newest_found_and_bounded(monkeypatch):
    monkeypatch.setattr(recent_reads, "LIVE_KEPT_REFERENCES", 2)
    kept = LiveReferences()
    for reference in ("a", "b", "a", "c"):
        kept.keep(reference)
    assert ["a" in kept, "b" in kept, "c" in kept] == [True, False, True]
    kept.forget("a")
    assert "a" not in kept


def test_a_kept_log_is_answered_in_one_sized_piece(api):
    """Its length known: one write of the answer, not a chunked stream."""
    job_id = archived_job(api, "nightly")
    response = api.get(f"/logs/{job_id}")
    assert response.data == b"one\ntwo\n"
    assert response.headers["Content-Length"] == "8"
    assert "Transfer-Encoding" not in response.headers
