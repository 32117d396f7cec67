"""The record store on the lab's PostgreSQL: the store's cases (as on SQLite in the unit tier),
and a slow query that holds up nothing else of its gevent worker."""

import contextlib
import json
import threading

import psycopg
import pytest
import requests

from quartermaster.jobs.errors import JobNotFound
from quartermaster.jobs.spec import JobSpec
from quartermaster.reaper.reaper import Reaper
from quartermaster.store import RecordStore
from quartermaster.swarm.runtime import Swarm
from support.lab import TEST_LABEL, LiveServer, lab_config, reap_until, wait_until
from support.postgres import libpq_url
from support.settings import BEARER
from support.store_cases import StoreCases


class TestPostgresStore(StoreCases):
    @pytest.fixture
    def store_url(self, postgres_url):
        return postgres_url


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
