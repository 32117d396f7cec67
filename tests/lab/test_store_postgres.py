"""The record store on the lab's PostgreSQL: the store's cases (as on SQLite in the unit tier),
the plans it can make of each /jobs filter, and a slow query that holds up nothing else of its
gevent worker."""

import contextlib
import json
import re
import threading

import psycopg
import pytest
import requests

from quartermaster.jobs.errors import JobNotFound
from quartermaster.jobs.spec import JobSpec
from quartermaster.reaper.reaper import Reaper
from quartermaster.store import RecordStore, pages
from quartermaster.swarm.runtime import Swarm
from support.job_pages import QUERIES, may_walk_the_whole_order, page_statements, seed_history
from support.lab import TEST_LABEL, LiveServer, lab_config, reap_until, wait_until
from support.postgres import libpq_url
from support.settings import BEARER
from support.store_cases import NOW, StoreCases

# A plan node that sorts (Merge Append's "Sort Key:" line is the order it keeps, no sort).
SORT_NODE = re.compile(r"^\s*(?:->\s*)?(?:Incremental )?Sort\s+\(cost=", re.MULTILINE)


class TestPostgresStore(StoreCases):
    @pytest.fixture
    def store_url(self, postgres_url):
        return postgres_url


@pytest.mark.parametrize("probe_rows", [3, 5000])  # a name prefix of many jobs, of few
def test_every_filter_can_walk_an_index_in_page_order(postgres_url, monkeypatch, probe_rows):
    """With a few dozen rows PostgreSQL rightly reads the whole table and sorts it: with scans
    and sorts priced out, each statement of a page still needs neither (the indexes can serve
    it), and none walks the whole history but where a filter has no index of its own; with
    100,000 records it chooses so itself (make bench)."""
    monkeypatch.setattr(pages, "PROBE_ROWS", probe_rows)
    store = RecordStore(postgres_url)
    try:
        seed_history(store, NOW)
        engine = store._connection.ready()
        for query in QUERIES:
            statements = page_statements(store, query)
            with engine.connect() as connection:
                for setting in ("enable_seqscan", "enable_bitmapscan", "enable_sort"):
                    connection.exec_driver_sql(f"SET LOCAL {setting} = off")
                for statement, parameters in statements:
                    explained = connection.exec_driver_sql(f"EXPLAIN {statement}", parameters)
                    plan = "\n".join(row[0] for row in explained)
                    assert "Seq Scan" not in plan, f"{query}\n{plan}"
                    assert not SORT_NODE.search(plan), f"{query}\n{plan}"
                    if not may_walk_the_whole_order(query, probe_rows):
                        assert "using ix_jobs_created_at_id" not in plan, f"{query}\n{plan}"
    finally:
        store.close()


def test_each_statement_is_planned_for_its_values_and_without_parallel_workers(postgres_url):
    """psycopg prepares what runs 5 times; PostgreSQL's plan for any values of a page's
    statement is not the plan for its labels' (a tenfold slower one, measured at 100,000); and
    a parallel worker's start costs more than a page's index walk."""
    store = RecordStore(postgres_url)
    try:
        with store._connection.ready().connect() as connection:
            mode = connection.exec_driver_sql("SHOW plan_cache_mode").scalar()
            workers = connection.exec_driver_sql("SHOW max_parallel_workers_per_gather").scalar()
    finally:
        store.close()
    assert (mode, workers) == ("force_custom_plan", "0")


def test_a_query_waiting_on_postgresql_holds_up_no_other_request_of_its_worker(
    lab, postgres_url, tmp_path
):
    """One worker; a /status of an archived job waits on a lock held in PostgreSQL, and
    meanwhile the same worker answers other requests: psycopg waits through gevent."""
    server = LiveServer(
        tmp_path / "server.log", env={"DATABASE_URL": postgres_url, "WORKERS": "1",
                                      "REAPER_INTERVAL": "0"},
    ).start()  # fmt: skip
    try:
        answer = requests.post(
            f"{server.url}/run", json={"image": lab.image, "command": "sleep 60"},
            headers=BEARER, timeout=10,
        )  # fmt: skip
        job_id = answer.json()["id"]
        stopped = requests.post(
            f"{server.url}/stop", json={"id": job_id}, headers=BEARER, timeout=30
        )
        assert stopped.ok, stopped.text
        with psycopg.connect(libpq_url(postgres_url)) as holder:
            holder.execute("LOCK TABLE jobs IN ACCESS EXCLUSIVE MODE")
            slow: list[requests.Response] = []
            waiting = threading.Thread(
                target=lambda: slow.append(
                    requests.get(f"{server.url}/status/{job_id}", headers=BEARER, timeout=30)
                )
            )
            waiting.start()
            wait_until(lambda: waiting_on_a_lock(postgres_url) == 1, 20, "the /status never waited")
            others = [
                requests.get(f"{server.url}/openapi.json", timeout=10).status_code
                for _ in range(20)
            ]
            assert others == [200] * 20
            assert waiting.is_alive() and not slow  # still waiting on the lock meanwhile
            holder.rollback()  # the lock goes: the waiting request gets its answer
        waiting.join(timeout=20)
        assert slow[0].status_code == 200
        assert slow[0].json()["status"] == "shutdown"
    finally:
        server.stop()


def waiting_on_a_lock(url: str) -> int:
    """Sessions of the database waiting for a lock, as the server sees them now (a connection
    of its own: a transaction sees the activity of the moment it first looked)."""
    query = (
        "SELECT count(*) FROM pg_stat_activity"
        " WHERE wait_event_type = 'Lock' AND datname = current_database()"
    )
    with psycopg.connect(libpq_url(url), autocommit=True) as connection:
        return connection.execute(query).fetchone()[0]


def test_text_postgresql_cannot_hold_is_a_400_naming_the_field_never_unreachable(
    lab, docker_client, live_server_factory, postgres_url
):
    """A NUL in a label filter was PostgreSQL's DataError, answered as a 503 "cannot be
    reached"; a lone surrogate in a label started the job, then failed its record (a 500)."""
    server = live_server_factory(env={"DATABASE_URL": postgres_url, "REAPER_INTERVAL": "0"})
    for query in ("label=k=%00", "label=k%00=v"):
        response = requests.get(f"{server.url}/jobs?{query}", headers=BEARER, timeout=10)
        assert response.status_code == 400, response.text
        assert list(response.json()["fields"]) == ["label"]
    body = {"image": lab.image, "command": "true", "labels": {"k": "\ud800"}}
    response = requests.post(
        f"{server.url}/run",
        data=json.dumps(body),  # "\ud800" as JSON writes it: requests' own json= cannot
        headers={**BEARER, "Content-Type": "application/json", "Idempotency-Key": "order-1"},
        timeout=10,
    )
    assert response.status_code == 400, response.text
    assert list(response.json()["fields"]) == ["labels"]
    assert requests.get(f"{server.url}/jobs", headers=BEARER, timeout=10).json()["jobs"] == []
    assert docker_client.services.list(filters={"label": "k"}) == []


def test_a_service_whose_labels_postgresql_cannot_hold_holds_up_no_other_job(lab, postgres_url):
    """A job made without the store (an older quartermaster, or straight through Docker) whose
    label holds a NUL: PostgreSQL refuses its record (StoreRefused; before, DataError passed for
    unavailability and ended every round's recording there, so that no job was recorded or
    expired while it lived). It is passed over: another job gets its final record."""
    config = lab_config(database_url=postgres_url)
    swarm = Swarm(config)
    refused = swarm.create_job(
        JobSpec(image=lab.image, command=("true",), labels={TEST_LABEL: "nul", "k": "a\x00b"})
    )
    other = swarm.create_job(
        JobSpec(image=lab.image, command=("true",), ttl=60, labels={TEST_LABEL: "other"})
    )
    reaper, store = Reaper(config), RecordStore(postgres_url)

    def final_record_of_other() -> bool:
        with contextlib.suppress(JobNotFound):
            return store.status(other).status == "complete"
        return False

    try:
        reap_until([reaper], final_record_of_other, timeout=30)
        with pytest.raises(JobNotFound):
            store.status(refused)
    finally:
        reaper.close()
        store.close()
