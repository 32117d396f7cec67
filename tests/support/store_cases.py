"""The record store's cases, run against SQLite in the unit tier and against the lab's
PostgreSQL in the lab tier: a class to subclass with a `store_url` fixture. One module of ~400
lines: the cases are one contract of the store, read together."""

import contextlib
import importlib.util
import multiprocessing
import random
import subprocess
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.operations import Operations
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from quartermaster.jobs import audit
from quartermaster.jobs.errors import (
    AmbiguousReference,
    JobNotFound,
    StoreRefused,
    StoreSchemaMismatch,
    TemplateConflict,
    TemplateNotFound,
    TooManyRuns,
)
from quartermaster.jobs.fair_share import ROOM
from quartermaster.jobs.history import STDERR, STDOUT, LogLine
from quartermaster.jobs.query import JobQuery
from quartermaster.jobs.schedules import Schedule
from quartermaster.jobs.spec import JobSpec
from quartermaster.jobs.status import JobStatus
from quartermaster.jobs.templates import Template, TemplateParameters
from quartermaster.jobs.tenancy import OPERATOR, Tenant, TenantQuota
from quartermaster.jobs.ticks import FIRING
from quartermaster.jobs.times import nanos_of, timestamp_of
from quartermaster.store import RecordStore, migrate, records
from quartermaster.store import admission as admission_module
from quartermaster.store import pages as page_queries
from quartermaster.store.admission import AdmissionStore
from quartermaster.store.connection import SCHEMA_MISMATCH
from quartermaster.store.kept_logs import CHUNK_BYTES
from quartermaster.store.rows import MAX_NANOS, FirstRecord, nanos
from quartermaster.store.schedules import ScheduleStore, TickRow
from quartermaster.store.schema import job_labels, job_log_chunks, job_transitions, metadata
from quartermaster.store.templates import StoredTemplate, TemplateStore
from quartermaster.store.tenancy import TenantStore
from quartermaster.store.usage import UsageStore
from quartermaster.web.schemas.patterns import MAX_LABEL_KEY, MAX_LABEL_VALUE
from support.job_pages import (
    QUERIES,
    expected_ids,
    page_statements,
    pages,
    seed_history,
    selects_request,
)
from support.rooms import ROOMY, node, swarm
from support.settings import PROJECT_ROOT

CREATED = "2026-11-27T06:00:00.123456789Z"
NOW = nanos_of("2026-11-27T06:00:10Z") / 1e9


def a_status(job_id: str = "a" * 25, **fields) -> JobStatus:
    document = {
        "id": job_id,
        "name": "job-" + job_id[:6],
        "image": "busybox",
        "type": "service",
        "tenant": None,
        "status": "pending",
        "state": "new",
        "exit_code": None,
        "error": None,
        "node": None,
        "created_at": CREATED,
        "started_at": None,
        "finished_at": None,
        "completions": 1,
        "succeeded": 0,
        "failed": 0,
        "attempts": 0,
    }
    return JobStatus(**{**document, **fields})


def log_of(*texts: tuple[int, str]) -> list[LogLine]:
    start = nanos_of(CREATED)
    return [
        LogLine(stream, f"{timestamp_of(start + n)} {text}\n".encode())
        for n, (stream, text) in enumerate(texts)
    ]


def all_revisions() -> list[str]:
    """Every revision's id, oldest first."""
    script = ScriptDirectory.from_config(migrate.alembic_config())
    return [revision.revision for revision in reversed(list(script.walk_revisions()))]


# Revision 0001 was edited in place after databases were made from it (issue 18): the commits
# of its first version (the one it is again) and of its last edit, and the file as each had it.
FIRST_0001 = "3d952b2"
EDITED_0001 = "3a410d7"
REVISION_0001 = "quartermaster/store/migrations/versions/0001_records.py"
OLD_ID = "old" + "0" * 22
OLD_RECORD = {
    "id": OLD_ID, "name": "made-before", "image": "busybox", "type": "service", "request": "{}",
    "status": "complete", "state": "complete", "exit_code": 0, "completions": 1,
    "succeeded": 1, "failed": 0, "attempts": 1, "created_at": nanos_of(CREATED),
    "finished_at": nanos_of(CREATED) + 1, "ttl": 3600, "expires_at": MAX_NANOS,
    "service_removed_at": nanos_of(CREATED) + 2, "updated_at": nanos_of(CREATED) + 2,
    "log_captured_at": nanos_of(CREATED) + 2, "log_bytes": 0, "log_truncated": False,
}  # fmt: skip


def make_database_with_0001_of(commit: str, url: str, directory: Path, stamp: str) -> None:
    """A database as revision 0001 at `commit` made it, stamped `stamp` (its own 0001, or what a
    later quartermaster's migration would have found it at), with one finished job's record,
    a label and its timeline, written as that quartermaster wrote them."""
    shown = subprocess.run(
        ["git", "-C", str(PROJECT_ROOT), "show", f"{commit}:{REVISION_0001}"],
        capture_output=True, check=True, timeout=60,
    )  # fmt: skip
    path = directory / f"revision_0001_at_{commit}.py"
    path.write_bytes(shown.stdout)
    spec = importlib.util.spec_from_file_location(path.stem, path)
    assert spec is not None and spec.loader is not None
    revision = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(revision)
    engine = sa.create_engine(url)
    try:
        with engine.begin() as connection:
            context = MigrationContext.configure(connection)
            with Operations.context(context):
                revision.upgrade()
            context.stamp(ScriptDirectory.from_config(migrate.alembic_config()), stamp)
            old_jobs = sa.table("jobs", *(sa.column(name) for name in OLD_RECORD))
            connection.execute(old_jobs.insert().values(OLD_RECORD))
            connection.execute(
                sa.text("INSERT INTO job_labels VALUES (:id, 'team', 'before', :at)"),
                {"id": OLD_ID, "at": nanos_of(CREATED)},
            )
            connection.execute(
                sa.text(
                    "INSERT INTO job_transitions VALUES (:id, 0, :at, 'complete', 'complete', NULL)"
                ),
                {"id": OLD_ID, "at": nanos_of(CREATED) + 1},
            )
    finally:
        engine.dispose()


def _upgrade_in_a_process(url, barrier, results):
    barrier.wait()
    results.put(migrate.upgrade(url))


class StoreCases:
    @pytest.fixture
    def store(self, store_url):
        store = RecordStore(store_url)
        yield store
        store.close()

    def test_migrations_make_the_declared_schema_once(self, store_url):
        assert migrate.upgrade(store_url) == all_revisions()
        assert migrate.upgrade(store_url) == []
        engine = sa.create_engine(store_url)
        with engine.connect() as connection:
            assert compare_metadata(MigrationContext.configure(connection), metadata) == []
            assert migrate.schema_differences(connection) == []
        engine.dispose()

    @pytest.mark.parametrize("commit", [FIRST_0001, EDITED_0001])
    def test_a_database_made_by_either_0001_is_brought_to_the_declared_schema(
        self, store_url, commit, tmp_path
    ):
        make_database_with_0001_of(commit, store_url, tmp_path, stamp="0001")
        assert migrate.upgrade(store_url) == all_revisions()[1:]
        engine = sa.create_engine(store_url)
        with engine.connect() as connection:
            assert compare_metadata(MigrationContext.configure(connection), metadata) == []
        engine.dispose()
        store = RecordStore(store_url)
        try:
            # The record made before is whole: no table made anew took its rows with it. It is
            # the operator's (no tenant), and no tenant's page shows it.
            assert store.status(OLD_ID).status == "complete"
            assert store.status(OLD_ID).tenant is None
            assert store.page(JobQuery(tenant="team-a")).jobs == []
            assert [job.id for job in store.page(JobQuery(labels={"team": "before"})).jobs] == [
                OLD_ID
            ]
            assert [step.status for step in store.history(OLD_ID).timeline] == ["complete"]
            # What the edits of 0001 added works.
            store.callback_settled(OLD_ID, "delivered", "HTTP 200", NOW)
            assert store.callback_outcome(OLD_ID) == ("delivered", "HTTP 200")
            assert store.add(a_status(), {}, 60, NOW, key=("k" * 64, "r" * 64))
            assert not store.add(a_status("e" * 25), {}, 60, NOW, key=("k" * 64, "s" * 64))
            assert store.note_host("boot-a", "host-a", NOW) == []
        finally:
            store.close()

    def test_a_database_whose_tables_differ_from_its_revision_is_refused_by_name(
        self, store_url, tmp_path
    ):
        """The case of issue 18: a database made by 0001 as it first shipped, stamped at the
        newest revision all the same. Its reads would fail one by one ("no such column")."""
        make_database_with_0001_of(FIRST_0001, store_url, tmp_path, stamp=all_revisions()[-1])
        with pytest.raises(migrate.SchemaMismatch) as refused:
            migrate.upgrade(store_url)
        for missing in ("column jobs.callback_state missing", "table store_hosts missing"):
            assert missing in str(refused.value)
        store = RecordStore(store_url)
        try:
            with pytest.raises(StoreSchemaMismatch) as failed:
                store.status(OLD_ID)
            assert str(failed.value) == SCHEMA_MISMATCH
        finally:
            store.close()

    def test_processes_starting_at_once_migrate_exactly_once(self, store_url):
        context = multiprocessing.get_context("spawn")
        barrier, results = context.Barrier(4), context.Queue()
        processes = [
            context.Process(target=_upgrade_in_a_process, args=(store_url, barrier, results))
            for _ in range(4)
        ]
        for process in processes:
            process.start()
        applied = sorted(results.get(timeout=60) for _ in processes)
        for process in processes:
            process.join(timeout=60)
            assert process.exitcode == 0
        assert applied == [[], [], [], all_revisions()]

    def test_first_records_added_at_once_each_get_their_own_answer(self, store):
        """Adds from many threads at once go in groups (store/group_commit.py): each is
        recorded, with its labels and its first transition, and answered for itself."""
        ids = [f"{index:025d}" for index in range(12)]

        def add(job_id: str) -> bool:
            return store.add(a_status(job_id), {"labels": {"n": job_id[-2:]}}, 60, NOW)

        with ThreadPoolExecutor(12) as pool:
            added = list(pool.map(add, ids))
            again = list(pool.map(add, ids))
        assert added == [True] * 12
        assert again == [False] * 12  # each has its record already
        for job_id in ids:
            assert [step.detail for step in store.history(job_id).timeline] == ["created"]
            assert store.page(JobQuery(labels={"n": job_id[-2:]})).jobs == [a_status(job_id)]

    def test_a_job_twice_in_one_group_is_recorded_once(self, store):
        twice, other = a_status("b" * 25), a_status("c" * 25)
        assert store.add(a_status(), {}, 60, NOW)

        def record(status: JobStatus) -> FirstRecord:
            return FirstRecord.of(status, {"labels": {"team": "a"}}, 60, nanos(NOW), None)

        group = [record(twice), record(other), record(twice), record(a_status())]
        assert store._add_first_records(group) == [True, True, False, False]
        assert len(store.history(twice.id).timeline) == 1
        assert store.page(JobQuery(labels={"team": "a"})).jobs == [other, twice]

    def test_a_record_refused_among_others_added_at_once_fails_its_own_add_alone(self, store):
        """Three adds queued behind a fourth's write go together; one of them holds text the
        database refuses: that add raises StoreRefused, the others are recorded."""
        store.add(a_status("0" * 25), {}, 60, NOW)  # opened: the next adds are writes alone
        groups = []
        write = store._first_records._write
        store._first_records._write = lambda records: groups.append(len(records)) or write(records)
        first_write_began = threading.Event()
        ready = store._connection.ready

        def ready_once_the_others_queue():
            if not first_write_began.is_set():
                first_write_began.set()
                deadline = time.monotonic() + 10
                while len(store._first_records._waiting) < 3 and time.monotonic() < deadline:
                    time.sleep(0.001)
            return ready()

        store._connection.ready = ready_once_the_others_queue
        requests = {"1" * 25: {}, "2" * 25: {}, "3" * 25: {"labels": {"k": "\ud800"}}, "4" * 25: {}}
        with ThreadPoolExecutor(4) as pool:
            adds = {}
            for job_id, request in requests.items():
                adds[job_id] = pool.submit(store.add, a_status(job_id), request, 60, NOW)
                assert first_write_began.wait(10)
            outcomes = {job_id: add.exception(10) or add.result() for job_id, add in adds.items()}
        assert isinstance(outcomes.pop("3" * 25), StoreRefused)
        assert outcomes == {job_id: True for job_id in ("1" * 25, "2" * 25, "4" * 25)}
        assert groups[:2] == [1, 3]  # the first alone, the three behind it together (refused)
        for job_id in outcomes:
            assert store.status(job_id) == a_status(job_id)

    def test_a_record_is_found_by_id_prefix_or_name(self, store):
        status = a_status()
        assert store.add(status, {"labels": {"team": "a"}}, 60, NOW)
        assert not store.add(status, {"labels": {"team": "a"}}, 60, NOW)  # one record a job
        for reference in (status.id, status.id[:5], status.name):
            assert store.status(reference) == status
        with pytest.raises(JobNotFound):
            store.status("b" * 25)
        with pytest.raises(JobNotFound):
            store.status("nosuch")

    @pytest.mark.parametrize("text", ["\ud800", "a\x00b"], ids=["surrogate", "nul"])
    def test_text_the_database_cannot_hold_is_refused_never_unreachable(self, store, text):
        """The requests' validation refuses such text first (web/schemas/patterns.py's
        `is_text`); were one to get past it, StoreRefused (a 400), never StoreUnavailable (503:
        "cannot be reached") nor an unexpected error (500). A database that holds it (SQLite holds
        NUL) may hold it."""
        uses = [
            lambda: store.add(a_status(), {"labels": {"k": text}}, 60, NOW),
            lambda: store.add(a_status("b" * 25), {"labels": {text: "v"}}, 60, NOW),
            lambda: store.page(JobQuery(labels={"k": text})),
            lambda: store.page(JobQuery(name=text)),
            lambda: store.status(text),
            lambda: store.history("c" + text),
        ]
        for use in uses:
            with contextlib.suppress(StoreRefused, JobNotFound):
                use()
        other = a_status("d" * 25)  # and the store goes on
        assert store.add(other, {"labels": {"k": "v"}}, 60, NOW)
        assert store.page(JobQuery(labels={"k": "v"})).jobs == [other]

    def test_the_longest_label_a_run_takes_fits_and_a_longer_one_is_refused(self, store):
        """Keys and values at /run's limits, in characters of UTF-8's 4 bytes and of no pattern
        (nothing to compress), are written and found; PostgreSQL refuses an index row over
        2704 bytes (StoreRefused, never "cannot be reached"), SQLite holds it."""
        chars = random.Random(7)  # noqa: S311 - the same text each run, not a secret

        def text(length: int) -> str:
            return "".join(chr(chars.randrange(0x10000, 0x110000)) for _ in range(length))

        key, value = text(MAX_LABEL_KEY), text(MAX_LABEL_VALUE)
        longest = a_status()
        assert store.add(longest, {"labels": {key: value}}, 60, NOW)
        assert store.page(JobQuery(labels={key: value})).jobs == [longest]
        with contextlib.suppress(StoreRefused):
            store.add(a_status("b" * 25), {"labels": {key: text(2 * MAX_LABEL_VALUE)}}, 60, NOW)

    def test_a_key_is_known_by_its_hash_as_long_as_its_record(self, store):
        status = a_status()
        assert store.job_with_key("k" * 64) is None
        store.add(status, {}, 60, NOW, key=("k" * 64, "r" * 64))
        assert store.job_with_key("k" * 64) == (status.id, "r" * 64)
        # Another job with the same key is refused: a key makes one job.
        assert not store.add(a_status("e" * 25), {}, 60, NOW, key=("k" * 64, "s" * 64))

    def test_a_callbacks_outcome_is_kept(self, store):
        status = a_status()
        store.add(status, {}, 60, NOW)
        assert store.callback_outcome(status.id) == (None, None)
        store.callback_settled(status.id, "retrying", "HTTP 503", NOW)
        store.callback_settled(status.id, "delivered", "HTTP 200", NOW + 2)
        assert store.callback_outcome(status.id) == ("delivered", "HTTP 200")

    def test_other_hosts_that_used_the_store_lately_are_named(self, store):
        assert store.note_host("boot-a", "host-a", NOW) == []
        assert store.note_host("boot-a", "host-a", NOW + 1) == []  # itself is no other host
        assert store.note_host("boot-b", "host-b", NOW + 2) == ["host-a"]
        assert store.note_host("boot-b", "host-b", NOW + 1 + 601) == []  # host-a: long ago

    def test_a_name_means_the_newest_job_so_named_and_a_shared_prefix_is_ambiguous(self, store):
        older = a_status("ab" + "1" * 23, name="nightly")
        newer = a_status("ac" + "2" * 23, name="nightly", created_at="2026-11-27T07:00:00Z")
        for status in (older, newer):
            store.add(status, {}, 60, NOW)
        assert store.status("nightly").id == newer.id
        with pytest.raises(AmbiguousReference):
            store.status("a")
        assert store.status("ab").id == older.id

    def test_the_timeline_grows_on_changes_only_and_started_at_outlives_the_run(self, store):
        pending = a_status()
        store.add(pending, {}, 60, NOW)
        started = replace(pending, status="started", state="running", node="n1",
                          started_at="2026-11-27T06:00:05Z")  # fmt: skip
        assert store.observe(started, NOW)
        assert store.observe(started, NOW + 1)  # the same: written, no transition
        complete = replace(started, status="complete", state="complete", exit_code=0,
                           started_at=None, finished_at="2026-11-27T06:00:09Z")  # fmt: skip
        assert store.finish(complete, [], False, NOW + 2, node_hostname="worker-1")
        assert [(step.status, step.state) for step in store.history(pending.id).timeline] == [
            ("pending", "new"), ("started", "running"), ("complete", "complete"),
        ]  # fmt: skip
        kept = store.status(pending.id)
        assert (kept.status, kept.started_at) == ("complete", "2026-11-27T06:00:05.000000000Z")
        assert not store.observe(complete, NOW + 3)  # final: written once
        assert not store.finish(complete, [], False, NOW + 3)

    def test_a_kept_log_comes_back_in_order_with_its_streams(self, store):
        status = a_status()
        store.add(status, {}, 60, NOW)
        big = "x" * 1000
        lines = log_of(*[(STDOUT if n % 7 else STDERR, f"{n} {big}") for n in range(300)])
        assert sum(len(each.line) for each in lines) > 3 * CHUNK_BYTES
        store.finish(replace(status, status="complete", state="complete"), lines, True, NOW)
        kept = store.kept_log(status.id)
        assert b"".join(data for _, data in kept) == b"".join(each.line for each in lines)
        streams = [each.stream for each in lines]
        assert [stream for stream, data in kept for _ in data.splitlines()] == streams
        assert store.log_kept(status.id)

    def test_live_records_are_those_whose_service_is_not_removed(self, store):
        first, second = a_status("c" * 25), a_status("d" * 25)
        for status in (first, second):
            store.add(status, {}, 60, NOW)
        store.finish(replace(first, status="complete", state="complete"), [], False, NOW)
        live = store.live()
        assert set(live) == {first.id, second.id}
        assert (live[first.id].finished, live[second.id].finished) == (True, False)
        store.service_removed(first.id, NOW)
        assert set(store.live()) == {second.id}

    def test_live_records_of_some_jobs_by_their_ids(self, store, monkeypatch):
        monkeypatch.setattr(records, "LIVE_OF_BATCH", 2)  # several statements
        statuses = [a_status(letter * 25) for letter in "efgh"]
        for status in statuses:
            store.add(status, {}, 60, NOW)
        removed, finished, pending, _ = (status.id for status in statuses)
        store.finish(replace(statuses[1], status="complete", state="complete"), [], False, NOW)
        store.service_removed(removed, NOW)
        live = store.live_of({removed, finished, pending, "x" * 25})
        assert set(live) == {finished, pending}  # not the removed, the unknown, the unasked
        assert (live[finished].finished, live[pending].finished) == (True, False)
        assert store.live_of(set()) == {}

    def test_an_expired_record_goes_with_its_labels_timeline_and_log(self, store, store_url):
        status = a_status()
        store.add(status, {"labels": {"team": "a", "env": "prod"}}, 5, NOW)
        final = replace(status, status="complete", state="complete",
                        finished_at=timestamp_of(round(NOW * 1e9)))  # fmt: skip
        store.finish(final, log_of((STDOUT, "hi")), False, NOW)
        assert store.delete_expired(NOW + 4) == 0
        assert store.delete_expired(NOW + 5) == 0  # the swarm holds its service still
        store.service_removed(status.id, NOW + 5)
        assert store.delete_expired(NOW + 4) == 0
        assert store.delete_expired(NOW + 5) == 1
        with pytest.raises(JobNotFound):
            store.status(status.id)
        engine = sa.create_engine(store_url)
        with engine.connect() as connection:
            for table in (job_labels, job_transitions, job_log_chunks):
                rows = sa.select(sa.func.count()).select_from(table)
                assert connection.execute(rows).scalar() == 0
        engine.dispose()

    def test_expired_records_go_in_batches_up_to_the_limit(self, store):
        # More than a batch's records (EXPIRY_BATCH_RECORDS), and a batch cut by its logs' size.
        small = [a_status(f"s{n:024d}") for n in range(45)]
        large = [a_status(f"l{n:024d}") for n in range(3)]
        log = log_of(*[(STDOUT, "x" * 1000)] * 1500)  # 1.5 MiB: two fit in a batch, not three
        for status in small + large:
            store.add(status, {}, 5, NOW)
            final = replace(status, status="complete", state="complete",
                            finished_at=timestamp_of(round(NOW * 1e9)))  # fmt: skip
            store.finish(final, log if status in large else [], False, NOW)
            store.service_removed(status.id, NOW)
        assert store.delete_expired(NOW + 5, limit=30) == 30
        assert store.delete_expired(NOW + 5) == 18
        assert store.delete_expired(NOW + 5) == 0
        assert store.page(JobQuery()).jobs == []

    # Both ways of walking a name prefix: few matches (under PROBE_ROWS), and many.
    @pytest.mark.parametrize("probe_rows", [3, 5000])
    def test_every_filter_pages_through_exactly_its_jobs_newest_first(
        self, store, monkeypatch, probe_rows
    ):
        monkeypatch.setattr(page_queries, "PROBE_ROWS", probe_rows)
        seeded = seed_history(store, NOW)
        for query in QUERIES:
            for limit in (1, 4, 100):
                walked = list(pages(store, replace(query, limit=limit)))
                assert [job_id for page in walked for job_id in page] == expected_ids(
                    seeded, query
                ), query
                assert all(len(page) <= limit for page in walked)

    def test_a_page_reads_the_status_columns_never_the_request(self, store):
        seed_history(store, NOW)
        for query in QUERIES:
            statements = page_statements(store, query)
            assert statements
            assert not [statement for statement, _ in statements if selects_request(statement)]

    # -- quotas: admission and usage (store/admission.py, store/usage.py) ---------------------

    def test_admissions_racing_never_pass_the_quota_and_admit_each_once(self, store):
        make_quota_tenant(store, "team-r", TenantQuota(jobs=3))
        admission = AdmissionStore(store.connection)

        def add(index: int) -> bool:
            held = a_status(f"{index:025d}", tenant="team-r", status="queued")
            entry = ran("team-r")
            return admission.add(held, {"memory_mb": 64}, 60, NOW, None, entry, ROOMY).admitted

        with ThreadPoolExecutor(10) as pool:
            admitted = list(pool.map(add, range(20)))
        assert admitted.count(True) == 3
        assert AdmissionStore(store.connection).place(f"{admitted.index(False):025d}") is not None
        live = [f"{index:025d}" for index, yes in enumerate(admitted) if yes]
        ended = a_status(live[0], tenant="team-r", status="complete", state="complete",
                         finished_at=timestamp_of(nanos(NOW + 1)))  # fmt: skip
        assert store.finish(ended, [], False, NOW + 1)
        with ThreadPoolExecutor(4) as pool:
            racing = list(pool.map(lambda _: admission.admit(ROOMY, NOW + 2), range(4)))
        assert sorted(len(batch) for batch in racing) == [0, 0, 0, 1]
        # First come, first admitted: the oldest of those that waited (the same creation
        # time: then by id).
        waited = sorted(f"{index:025d}" for index, yes in enumerate(admitted) if not yes)
        assert [job.job_id for batch in racing for job in batch] == waited[:1]
        assert admission.place(waited[1]).position == 1

    def test_a_lifted_quota_admits_the_whole_queue_a_batch_at_a_time(self, store, monkeypatch):
        monkeypatch.setattr(admission_module, "ADMIT_BATCH", 3)
        make_quota_tenant(store, "team-l", TenantQuota(jobs=1))
        admission = AdmissionStore(store.connection)
        for index in range(8):
            held = a_status(f"l{index:024d}", tenant="team-l", status="queued")
            admission.add(held, {"memory_mb": 64}, 60, NOW, None, ran("team-l"), ROOMY)
        tenants = TenantStore(store.connection)
        lifted = replace(tenants.tenant("team-l"), quota=TenantQuota())
        tenants.update_tenant(
            lifted, NOW, audit.entry(OPERATOR, audit.TENANT_CHANGED, "team-l", "team-l")
        )
        assert len(admission.admit(ROOMY, NOW + 1)) == 7
        assert not admission.anything_waiting()

    def test_a_full_queue_refuses_and_writes_nothing(self, store):
        make_quota_tenant(store, "team-f", TenantQuota(jobs=1, queued=1))
        admission = AdmissionStore(store.connection)
        for index in range(2):
            held = a_status(f"f{index:024d}", tenant="team-f", status="queued")
            admission.add(held, {"memory_mb": 64}, 60, NOW, None, ran("team-f"), ROOMY)
        refused = a_status(f"f{2:024d}", tenant="team-f", status="queued")
        with pytest.raises(TooManyRuns):
            admission.add(refused, {"memory_mb": 64}, 60, NOW, None, ran("team-f"), ROOMY)
        with pytest.raises(JobNotFound):
            store.status(refused.id)

    def test_racing_admissions_never_promise_the_swarms_room_twice(self, store):
        for name in ("team-x", "team-y"):
            make_quota_tenant(store, name, TenantQuota())
        admission = AdmissionStore(store.connection)
        room = swarm(node("w1", memory_mb=1024))  # four jobs of 256 MB

        def add(index: int) -> bool:
            tenant = ("team-x", "team-y")[index % 2]
            held = a_status(f"x{index:024d}", tenant=tenant, status="queued")
            request = {"memory_mb": 256}
            return admission.add(held, request, 60, NOW, None, ran(tenant), room).admitted

        with ThreadPoolExecutor(10) as pool:
            admitted = list(pool.map(add, range(20)))
        assert admitted.count(True) == 4
        place = admission.place(f"x{admitted.index(False):024d}")
        assert place is not None and place.reason == ROOM
        with ThreadPoolExecutor(4) as pool:
            racing = list(pool.map(lambda _: admission.admit(room, NOW + 1), range(4)))
        assert [batch for batch in racing if batch] == []  # no room freed: none admitted

    def test_room_that_frees_goes_to_the_least_served_queue(self, store):
        make_quota_tenant(store, "team-z", TenantQuota())
        admission = AdmissionStore(store.connection)
        room = swarm(node("w1", memory_mb=512))  # two jobs of 256 MB
        owners = ["team-z", "team-z", "team-z", None, "team-z"]  # None: the operator's job
        for index, owner in enumerate(owners):
            held = a_status(f"z{index:024d}", tenant=owner, status="queued")
            created = timestamp_of(nanos(NOW + index))
            held = replace(held, created_at=created)
            entry = audit.entry(OPERATOR, audit.RUN, None, owner)
            admission.add(held, {"memory_mb": 256}, 60, NOW + index, None, entry, room)
        ended = a_status(f"z{0:024d}", tenant="team-z", status="complete", state="complete",
                         finished_at=timestamp_of(nanos(NOW + 10)))  # fmt: skip
        assert store.finish(ended, [], False, NOW + 10)
        # team-z holds one job, the operator none: the operator's job goes first.
        assert [job.job_id for job in admission.admit(room, NOW + 11)] == [f"z{3:024d}"]

    # -- templates (store/templates.py) -------------------------------------------------------

    def test_templates_are_kept_by_owner_and_name(self, store):
        make_quota_tenant(store, "team-t", TenantQuota())
        templates = TemplateStore(store.connection)
        job = JobSpec("qm/busybox:latest", ("echo", "hi"), env={"A": "1"}, memory_mb=64)
        template = Template("nightly", job, TemplateParameters(("DATE",), ()), tenant="team-t")
        made = audit.entry(OPERATOR, audit.TEMPLATE_CREATED, "nightly", "team-t", 201)
        kept = templates.create(StoredTemplate(template, "sealed-bytes"), NOW, made)
        assert (kept.job, kept.parameters, kept.auth_kept) == (job, template.parameters, True)
        with pytest.raises(TemplateConflict):
            templates.create(StoredTemplate(template), NOW, made)
        operators = replace(template, tenant=None)
        templates.create(StoredTemplate(operators), NOW, made)  # the same name, another owner
        assert [t.tenant for t in (*templates.templates("team-t"), *templates.templates(None))] == [
            "team-t", None
        ]  # fmt: skip
        changed = replace(template, job=replace(job, memory_mb=128))
        entry = audit.entry(OPERATOR, audit.TEMPLATE_CHANGED, "nightly", "team-t")
        assert templates.update(StoredTemplate(changed), NOW + 1, entry, False).job.memory_mb == 128
        assert templates.template("team-t", "nightly").auth_sealed is None
        removed = audit.entry(OPERATOR, audit.TEMPLATE_REMOVED, "nightly", "team-t")
        templates.delete("team-t", "nightly", NOW + 2, removed)
        with pytest.raises(TemplateNotFound):
            templates.template("team-t", "nightly")
        assert templates.template(None, "nightly").template.job == job

    def test_a_tick_is_taken_by_one_of_the_schedulers_racing_for_it(self, store):
        templates = TemplateStore(store.connection)
        schedule = Schedule("* * * * *", "UTC")
        tick = nanos(NOW)
        template = Template("minutely", JobSpec("qm/busybox:latest"), schedule=schedule)
        made = audit.entry(OPERATOR, audit.TEMPLATE_CREATED, "minutely", None, 201)
        templates.create(StoredTemplate(template, None, tick), NOW, made)
        schedules = ScheduleStore(store.connection)
        assert schedules.next_due_at() == tick and schedules.due(tick - 1, 10) == []
        (due,) = schedules.due(tick, 10)
        assert (due.tenant, due.name, due.schedule, due.tick) == (None, "minutely", schedule, tick)
        rows = [TickRow(tick, FIRING)]
        with ThreadPoolExecutor(8) as pool:
            taken = list(
                pool.map(lambda _: schedules.take(due, tick + 60 * 10**9, rows, tick), range(8))
            )
        assert sorted(map(len, taken)) == [0] * 7 + [1]
        assert schedules.unsettled(tick + 1, 10) == [(None, "minutely", tick)]
        schedules.settle(None, "minutely", TickRow(tick, "fired", job_id="j" * 25), tick + 1)
        assert schedules.unsettled(tick + 10**9, 10) == []
        # The next tick put back (a stale write): taken again, the tick's row stays as it was.
        with store.connection.writing() as connection:
            connection.execute(sa.text("UPDATE templates SET next_tick = :tick"), {"tick": tick})
        assert schedules.take(due, tick + 60 * 10**9, rows, tick + 2) == set()
        (record,) = schedules.ticks(None, "minutely", None, 10)
        assert (record.tick, record.outcome, record.job_id) == (tick, "fired", "j" * 25)
        assert schedules.next_due_at() == tick + 60 * 10**9

    def test_runs_per_minute_count_a_sliding_minute(self, store):
        make_quota_tenant(store, "team-m", TenantQuota(runs_per_minute=2))
        admission = AdmissionStore(store.connection)
        assert admission.take_run("team-m", 2, NOW) is None
        assert admission.take_run("team-m", 2, NOW + 30) is None
        assert admission.take_run("team-m", 2, NOW + 40) == pytest.approx(20)
        assert admission.take_run("team-m", 2, NOW + 60.5) is None  # the first left the minute
        assert admission.take_run("team-m", 2, NOW + 61) == pytest.approx(29)

    def test_a_tenants_usage_is_its_runs_cut_to_the_window(self, store):
        make_quota_tenant(store, "team-u", TenantQuota(jobs=5))
        start = nanos_of(CREATED) / 1e9

        def at(seconds: float) -> str:
            return timestamp_of(nanos(start + seconds))

        done, running = "d" * 25, "r" * 25
        for job_id, request in ((done, {"memory_mb": 128, "cpus": 0.5}),
                                (running, {"memory_mb": 64})):  # fmt: skip
            store.add(a_status(job_id, tenant="team-u"), request, 60, start)
        store.observe(a_status(done, tenant="team-u", status="started", state="running",
                               started_at=at(0)), start + 1)  # fmt: skip
        store.finish(a_status(done, tenant="team-u", status="complete", state="complete",
                              finished_at=at(10)), [], False, start + 10)  # fmt: skip
        store.observe(a_status(running, tenant="team-u", status="started", state="running",
                               started_at=at(5)), start + 6)  # fmt: skip
        usage = UsageStore(store.connection)
        whole = usage.usage("team-u", start - 1, start + 20, now=start + 20)
        assert whole.jobs == {"complete": 1, "started": 1}
        assert whole.run_seconds == pytest.approx(10 + 15)
        assert whole.memory_mb_seconds == pytest.approx(10 * 128 + 15 * 64)
        assert whole.cpu_seconds == pytest.approx(10 * 0.5)
        assert (whole.live.jobs, whole.live.memory, whole.queued) == (1, 64, 0)
        cut = usage.usage("team-u", start + 8, start + 12, now=start + 20)
        assert cut.jobs == {}  # made before the window
        assert cut.run_seconds == pytest.approx(2 + 4)
        assert usage.usage("other", start - 1, start + 20, now=start + 20).run_seconds == 0


def make_quota_tenant(store: RecordStore, name: str, quota: TenantQuota) -> None:
    made = audit.entry(OPERATOR, audit.TENANT_CREATED, name, name, 201)
    TenantStore(store.connection).create_tenant(Tenant(name, quota=quota), NOW, made)


def ran(tenant: str) -> audit.AuditEntry:
    return audit.entry(OPERATOR, audit.RUN, None, tenant)


def kept_lines(store: RecordStore, job_id: str) -> list[tuple[int, bytes]]:
    """The job's kept log, a (stream, text) for each line."""
    return [
        (stream, line.partition(b" ")[2])
        for stream, data in store.kept_log(job_id)
        for line in data.splitlines(keepends=True)
    ]
