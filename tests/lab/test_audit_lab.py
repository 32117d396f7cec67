"""The audit trail on the lab: an action and its entry are written together, so a quartermaster
SIGKILLed in the middle of a burst of /run leaves no job, in the swarm or the store, without its
`run` entry (the restarted instance's reaper writes the entries of the jobs whose records the
killed one had not written), and none with two."""

import threading
from concurrent.futures import ThreadPoolExecutor

import requests
import sqlalchemy as sa

from support.lab import kill_with_its_children, this_test_labels, wait_until
from support.postgres import fresh_database_url
from support.settings import BEARER

BURST = 50
# A kill that falls between requests (every job made was answered) proves nothing: the burst is
# tried again, on a store of its own, this many times in all.
ATTEMPTS = 3


def burst_then_kill(lab, live_server_factory, docker_client, env: dict, labels: dict):
    """A burst of /run at an instance, SIGKILLed at the first answer (others in flight): the
    answers' codes (None: no answer), and the jobs in the swarm."""
    first = live_server_factory(env=env)
    body = {"image": lab.image, "command": ["sleep", "5"], "memory": 6, "labels": labels}
    answered = threading.Event()

    def run_one(_: int) -> int | None:
        try:
            answer = requests.post(f"{first.url}/run", json=body, headers=BEARER, timeout=15)
        except requests.RequestException:
            return None  # the server died under it
        answered.set()
        return answer.status_code

    with ThreadPoolExecutor(BURST) as pool:
        answers = pool.map(run_one, range(BURST))
        assert answered.wait(30), "no /run answered"
        kill_with_its_children(first.process.pid)  # at the first answer: others in flight
        codes = list(answers)
    label_filter = [f"{key}={value}" for key, value in labels.items()]
    in_swarm = {s["ID"] for s in docker_client.api.services(filters={"label": label_filter})}
    return codes, in_swarm


def test_a_sigkill_during_a_burst_of_runs_leaves_no_job_without_its_run_entry(
    lab, postgres, live_server_factory, docker_client
):
    for attempt in range(ATTEMPTS):
        url = fresh_database_url()
        env = {"DATABASE_URL": url, "REAPER_INTERVAL": "0.5"}
        labels = {**this_test_labels(), "qm-test-attempt": str(attempt)}
        codes, in_swarm = burst_then_kill(lab, live_server_factory, docker_client, env, labels)
        assert {code for code in codes if code is not None} <= {200}
        assert in_swarm, "no job was made before the kill"
        if len(in_swarm) > codes.count(200):
            break  # the kill struck mid-/run: jobs made whose /run never answered
    live_server_factory(env=env)  # a new instance on the same store; its reaper mends
    engine = sa.create_engine(url)

    def recorded() -> tuple[set[str], list[str]]:
        with engine.connect() as connection:
            jobs = set(connection.execute(sa.text("SELECT id FROM jobs")).scalars())
            runs = list(
                connection.execute(
                    sa.text("SELECT target FROM audit_entries WHERE action = 'run'")
                ).scalars()
            )
            imported[:] = connection.execute(
                sa.text("SELECT target FROM audit_entries WHERE request_id IS NULL")
            ).scalars()
        return jobs, runs

    imported: list[str] = []

    try:
        wait_until(lambda: in_swarm <= recorded()[0], 60, "the reaper did not record every job")
        jobs, runs = recorded()
    finally:
        engine.dispose()
    assert jobs <= set(runs), "a recorded job without its run entry"
    assert len(runs) == len(set(runs)), "a job with two run entries"
    assert set(runs) == jobs  # and no entry without its job
    # The kill struck mid-/run: jobs made whose /run never answered, most of them recorded (with
    # their entries) by the new instance's reaper (their entries have no request id).
    assert len(in_swarm) > codes.count(200), f"no kill of {ATTEMPTS} struck mid-/run"
    assert imported
