"""Nothing is lost when the record store is out of reach, or when quartermaster dies.

PostgreSQL stopped for 30 s while jobs run and finish: the live API keeps working on the swarm
alone, what needs the history is a clear JSON 503, no finished job's service is removed
unrecorded, and once PostgreSQL is back every record is there, logs included. And an instance
SIGKILLed as a job ends: the next one records it once, with every line. And a job stopped while
the store is away keeps its log (set aside in a swarm config) for its record."""

import sqlite3
import time

import pytest
import requests

from quartermaster.compose import compose_app
from quartermaster.reaper.reaper import Reaper
from quartermaster.store import RecordStore
from quartermaster.swarm.kept_logs import LOG_OF, LOG_PREFIX, SET_ASIDE_AT, TRUNCATED
from support.api import ApiClient
from support.lab import DEPLOYMENT, lab_config, reap_until, wait_until
from support.postgres import postgres_down
from support.store_cases import kept_lines

OUTAGE_SECONDS = 30
# A directory that cannot be made: every use of the store fails, as with a database away.
STORE_AWAY = "sqlite:////proc/no-such-dir/quartermaster.db"
NEVER_ANSWERED = "http://127.0.0.1:9/never"  # the discard port, closed
PRINTS = "sh -c 'echo kept-out; echo kept-err >&2; sleep 300'"
PRINTED = [(1, b"kept-out\n"), (2, b"kept-err\n")]


def call(server, method: str, path: str, **kwargs) -> requests.Response:
    return server.client().request(method, path, **kwargs)


def run(server, lab, command: str) -> str:
    return server.client().run_ok(image=lab.image, command=command)


def service_exists(docker_client, job_id: str) -> bool:
    return bool(docker_client.api.services(filters={"id": job_id}))


@pytest.mark.alone  # it stops the lab's PostgreSQL
def test_postgresql_down_for_30_seconds_while_jobs_finish(
    lab, live_server_factory, postgres_url, docker_client
):
    server = live_server_factory(
        env={"DATABASE_URL": postgres_url, "REAPER_INTERVAL": "0.5", "KEEP_FINISHED": "1"}
    )
    before = run(server, lab, "sh -c 'echo made-before; sleep 8'")
    archived = run(server, lab, "sh -c 'echo archived-early'")
    wait_until(lambda: not service_exists(docker_client, archived), 60, "never archived")

    with postgres_down():
        started = time.monotonic()
        during = run(server, lab, "sh -c 'echo made-during; sleep 2'")  # /run: the swarm alone
        stopped = run(server, lab, "sh -c 'echo stopped-during; sleep 120'")
        wait_until(
            lambda: call(server, "GET", f"/status/{stopped}").json()["status"] == "started",
            60,
            "never started",
        )
        assert call(server, "POST", "/stop", json={"id": stopped}).status_code == 200
        assert service_exists(docker_client, stopped)  # halted: kept for its record
        assert call(server, "GET", f"/status/{stopped}").json()["status"] == "shutdown"
        for job_id in (before, during):
            wait_until(
                lambda job_id=job_id: call(server, "GET", f"/status/{job_id}").json()["status"]
                == "complete",
                60,
                f"{job_id} never completed",
            )
        for path in ("/jobs", f"/status/{archived}", f"/logs/{archived}"):
            answer = call(server, "GET", path)
            assert answer.status_code == 503, (path, answer.text)
            assert answer.json()["error"] == "the record store cannot be reached"
        time.sleep(max(OUTAGE_SECONDS - (time.monotonic() - started), 0))
        # Finished long past KEEP_FINISHED, yet kept: their records could not be written.
        assert service_exists(docker_client, before) and service_exists(docker_client, during)

    for job_id in (before, during):
        wait_until(lambda job_id=job_id: not service_exists(docker_client, job_id), 60, job_id)
    assert call(server, "GET", f"/logs/{before}").text == "made-before\n"
    assert call(server, "GET", f"/logs/{during}").text == "made-during\n"
    assert call(server, "GET", f"/status/{during}").json()["status"] == "complete"
    # Stopped while the store was away: halted, then recorded by the reaper. (Swarm drops the
    # tasks of a service scaled to none, their logs with them: see the tests below for the log
    # set aside before.)
    wait_until(lambda: not service_exists(docker_client, stopped), 60, "never removed")
    assert call(server, "GET", f"/status/{stopped}").json()["status"] == "shutdown"
    listed = {job["id"] for job in call(server, "GET", "/jobs").json()["jobs"]}
    assert {before, archived, during, stopped} <= listed
    assert "the record store is out of reach" in server.log_text()


def test_quartermaster_killed_around_a_capture_loses_and_doubles_nothing(
    lab, live_server_factory, docker_client, tmp_path
):
    """SIGKILL the whole instance (master, workers, reaper) as a job that printed 1 MB ends,
    while its reaper may be reading or writing its log; a new instance on the same store ends
    the record exactly once, with every line."""
    lines = 40_000
    env = {
        "DATA_DIR": str(tmp_path / "store"),
        "REAPER_INTERVAL": "0.2",
        "KEEP_FINISHED": "1",
        "LOG_KEEP_BYTES": str(8 * 1024 * 1024),
    }
    first = live_server_factory(env=env)
    job_id = run(first, lab, f"seq 1 {lines}")
    wait_until(
        lambda: call(first, "GET", f"/status/{job_id}").json()["status"] == "complete",
        60,
        "never completed",
    )
    first.process.kill()  # the master: its workers and its reaper follow it
    first.process.wait(timeout=10)
    time.sleep(1)

    second = live_server_factory(env=env)
    wait_until(lambda: not service_exists(docker_client, job_id), 60, "never archived")
    kept = call(second, "GET", f"/logs/{job_id}").text.splitlines()
    assert kept == [str(n) for n in range(1, lines + 1)]
    status = call(second, "GET", f"/status/{job_id}").json()
    assert (status["status"], status["attempts"]) == ("complete", 1)
    timeline = transitions_in(tmp_path / "store" / "quartermaster.db", job_id)
    assert [step for step in timeline if step == "complete"] == ["complete"]


def transitions_in(database, job_id: str) -> list[str]:
    """The statuses on the job's timeline, as the SQLite store holds them."""
    with sqlite3.connect(database) as connection:
        rows = connection.execute(
            "SELECT status FROM job_transitions WHERE job_id = ? ORDER BY seq", (job_id,)
        )
        return [status for (status,) in rows]


def test_a_job_stopped_while_the_store_is_away_is_recorded_with_its_log_once_it_is_back(
    lab, api, docker_client
):
    """/stop with the store out of reach halts the job, and swarm drops its tasks, their logs
    with them: the log is set aside in a swarm config first, and once the store is back the
    reaper's final record takes it, and the config goes."""
    job_id = api.run_ok(
        image=lab.image,
        command=PRINTS,
        # Never delivered: no reaper removes the job's service while its callback is due. (On
        # the shared lab, another test's reaper, on a store of its own, would after its
        # KEEP_FINISHED, and this one would find the job lost.)
        callback_url=NEVER_ANSWERED,
    )
    api.wait_for_lines(job_id, 2)
    away = ApiClient(compose_app(lab_config(database_url=STORE_AWAY)).test_client())
    assert away.stop(job_id).get_json() == {"success": True, "id": job_id}
    assert service_exists(docker_client, job_id)  # halted: kept for its record
    (kept,) = docker_client.api.configs(filters={"name": f"{LOG_PREFIX}{job_id}"})
    assert kept["Spec"]["Labels"] == {
        "quartermaster.job": DEPLOYMENT,  # the deployment of the tests' apps
        LOG_OF: job_id,
        SET_ASIDE_AT: kept["Spec"]["Labels"][SET_ASIDE_AT],
        TRUNCATED: "false",
    }
    status, lines = recorded_once_the_store_is_back(api, docker_client, job_id)
    assert status.status == "shutdown"
    assert sorted(lines) == PRINTED
    assert api.stop(job_id).status_code == 200  # the service goes; its record and log stay
    assert sorted(api.logs(job_id).splitlines()) == ["kept-err", "kept-out"]


def test_a_job_timed_out_while_the_store_is_away_is_recorded_with_its_log_once_it_is_back(
    lab, api, docker_client
):
    """The reaper's timeout with the store out of reach: the log is set aside before the job's
    runs are stopped, and taken by its final record once the store is back."""
    job_id = api.run_ok(image=lab.image, command=PRINTS, timeout=2, callback_url=NEVER_ANSWERED)
    api.wait_for_lines(job_id, 2)
    away = Reaper(lab_config(database_url=STORE_AWAY))
    reap_until([away], lambda: api.status(job_id).get_json()["status"] == "failed", 30)
    away.close()
    assert docker_client.api.configs(filters={"name": f"{LOG_PREFIX}{job_id}"})
    status, lines = recorded_once_the_store_is_back(api, docker_client, job_id)
    assert (status.status, status.error) == ("failed", "timed out after 2s")
    assert sorted(lines) == PRINTED


def recorded_once_the_store_is_back(api, docker_client, job_id: str):
    """The store comes back once the swarm has dropped the halted job's tasks, their logs with
    them: a reaper round on it writes the job's final record, with the log set aside, and
    removes that; the record's status and log (a (stream, text) for each line)."""
    wait_until(lambda: api.logs(job_id) == "", 30, "the halted job's log is still on the swarm")
    reaper = Reaper(lab_config())
    reap_until(
        [reaper],
        lambda: not docker_client.api.configs(filters={"name": f"{LOG_PREFIX}{job_id}"}),
        30,
    )
    reaper.close()
    store = RecordStore(lab_config().store_url)
    try:
        return store.status(job_id), kept_lines(store, job_id)
    finally:
        store.close()
