"""The record store's cases, run against SQLite in the unit tier and against the lab's
PostgreSQL in the lab tier: a class to subclass with a `store_url` fixture."""

import multiprocessing
from dataclasses import replace

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from quartermaster.jobs.errors import AmbiguousReference, JobNotFound
from quartermaster.jobs.history import STDERR, STDOUT, LogLine, nanos_of, timestamp_of
from quartermaster.jobs.query import JobQuery
from quartermaster.jobs.status import JobStatus
from quartermaster.store import RecordStore, migrate, records
from quartermaster.store.records import CHUNK_BYTES
from quartermaster.store.schema import job_labels, job_log_chunks, job_transitions, metadata
from quartermaster.web.schemas import MAX_LABEL_KEY, MAX_LABEL_VALUE
from support.job_pages import (
    QUERIES,
    expected_ids,
    page_statements,
    pages,
    seed_history,
    selects_request,
)

CREATED = "2026-11-27T06:00:00.123456789Z"
NOW = nanos_of("2026-11-27T06:00:10Z") / 1e9


def a_status(job_id: str = "a" * 25, **fields) -> JobStatus:
    document = {
        "id": job_id,
        "name": "job-" + job_id[:6],
        "image": "busybox",
        "type": "service",
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
        LogLine(stream, start + n, f"{timestamp_of(start + n)} {text}\n".encode())
        for n, (stream, text) in enumerate(texts)
    ]


# Every revision, oldest first: what a new database is brought through.
REVISIONS = [
    script.revision
    for script in reversed(
        list(ScriptDirectory.from_config(migrate.alembic_config()).walk_revisions())
    )
]


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
        assert migrate.upgrade(store_url) == REVISIONS
        assert migrate.upgrade(store_url) == []
        engine = sa.create_engine(store_url)
        with engine.connect() as connection:
            assert compare_metadata(MigrationContext.configure(connection), metadata) == []
        engine.dispose()

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
        assert applied == [[], [], [], REVISIONS]

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
        assert store.archived_log(status.id[:6]) == (store.status(status.id), lines)
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

    # Both ways of walking a name prefix: few matches (under PROBE_ROWS), and many.
    @pytest.mark.parametrize("probe_rows", [3, 5000])
    def test_every_filter_pages_through_exactly_its_jobs_newest_first(
        self, store, monkeypatch, probe_rows
    ):
        monkeypatch.setattr(records, "PROBE_ROWS", probe_rows, raising=False)
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

    def test_the_longest_label_run_takes_is_kept_and_found(self, store):
        """Its key and value in 4-byte UTF-8 characters: 2,560 bytes, an entry of the labels'
        index (PostgreSQL's B-tree takes up to 2,704 bytes)."""
        key, value = "\U0001f600" * MAX_LABEL_KEY, "\U0001f601" * MAX_LABEL_VALUE
        status = a_status()
        assert store.add(status, {"labels": {key: value}}, 60, NOW)
        assert [job.id for job in store.page(JobQuery(labels={key: value})).jobs] == [status.id]
