"""The reaper on the lab: timeouts, TTLs, callbacks delivered once, across races and restarts."""

import hashlib
import hmac
import json
import logging
import signal
import time

import pytest

import support.lab
from quartermaster.jobs.errors import DockerUnavailable
from quartermaster.reaper.reaper import Reaper
from quartermaster.store import RecordStore
from quartermaster.swarm import claims
from quartermaster.swarm.reaping import LEASE_SECONDS, RECORD_PREFIX, STATE
from quartermaster.swarm.runtime import Swarm
from support.lab import hold_claim, lab_config, reap_until, settle, wait_for_tasks, wait_until
from support.receivers import Receiver
from support.settings import CALLBACK_SECRET


@pytest.fixture
def receiver():
    receiver = Receiver()
    yield receiver
    receiver.close()


def test_a_job_past_its_timeout_is_stopped_and_failed(lab, api, docker_client):
    job_id = api.run_ok(image=lab.image, command="sleep 120", timeout=2)
    api.wait_for(job_id, "started")
    reaper = Reaper(lab_config())
    reap_until([reaper], lambda: api.status(job_id).get_json()["status"] != "started")
    document = api.status(job_id).get_json()
    assert (document["status"], document["error"]) == ("failed", "timed out after 2s")
    assert document["finished_at"]
    # The job is failed from the update on; swarm's orchestrator stops its run just after.
    wait_until(
        lambda: not docker_client.api.tasks(
            filters={"service": job_id, "desired-state": "running"}
        ),
        timeout=10,
        message="the timed-out job's run is still meant to be running",
    )
    reaper.close()


def test_a_job_mode_job_past_its_timeout_is_stopped(lab, api, docker_client):
    job_id = api.run_ok(image=lab.image, command="sleep 120", type="job", completions=2, timeout=2)
    api.wait_for(job_id, "started")
    reaper = Reaper(lab_config())
    reap_until([reaper], lambda: api.status(job_id).get_json()["status"] != "started")
    document = api.status(job_id).get_json()
    assert (document["status"], document["completions"]) == ("failed", 2)
    assert document["error"] == "timed out after 2s"
    time.sleep(2)  # no run starts again
    assert api.status(job_id).get_json()["status"] == "failed"
    reaper.close()


def test_a_job_within_its_timeout_is_left_alone(lab, api):
    job_id = api.run_ok(image=lab.image, command="sh -c 'sleep 1'", timeout=60)
    api.wait_for(job_id, "started")
    reaper = Reaper(lab_config())
    reap_until([reaper], lambda: api.status(job_id).get_json()["status"] == "complete")
    reaper.close()


def test_a_finished_job_is_removed_after_its_ttl(lab, api):
    kept = api.run_ok(image=lab.image, command="true")  # the default ttl: a week
    expiring = api.run_ok(image=lab.image, command="true", ttl=1)
    running = api.run_ok(image=lab.image, command="sleep 60", ttl=0)
    for job_id in (kept, expiring):
        api.wait_for(job_id, "complete")
    reaper = Reaper(lab_config())
    reap_until([reaper], lambda: api.status(expiring).status_code == 404)
    assert api.status(kept).status_code == 200
    assert api.status(running).status_code == 200  # ttl counts from the end, not the start
    reaper.close()


def test_expiring_a_job_that_was_never_placed_leaves_none_of_its_tasks(
    lab, api, docker_client, docker_engine
):
    job_id = api.run_ok(
        image=lab.image, type="job", completions=100, parallelism=100,
        constraints=["node.labels.qm-test==never-placed"],
    )  # fmt: skip
    wait_for_tasks(docker_client, job_id, 100)
    read = docker_client.api.inspect_service(job_id)
    # Swarm moves a job's version on as it runs: the service read is stale by the removal.
    # (docker-py's update_service adds an UpdateConfig, which swarm refuses for a job.)
    moved = {**read["Spec"], "Labels": {**read["Spec"]["Labels"], "moved": "on"}}
    docker_engine.update_service(job_id, read["Version"]["Index"], moved)
    assert Swarm(lab_config()).reaping.expire(read)
    wait_for_tasks(docker_client, job_id, 0)


def test_the_configured_ttl_is_the_default(lab, api, docker_client):
    job_id = api.run_ok(image=lab.image, command="true")
    assert docker_client.api.inspect_service(job_id)["Spec"]["Labels"]["quartermaster.ttl"] == (
        "604800"
    )


@pytest.mark.parametrize("command,status", [("true", "complete"), ("sh -c 'exit 9'", "failed")])
def test_a_callback_is_delivered_once_signed_even_with_racing_reapers(
    lab, api, receiver, command, status
):
    job_id = api.run_ok(image=lab.image, command=command, callback_url=f"{receiver.url}/hook?k=v")
    config = lab_config(callback_secret=CALLBACK_SECRET)
    reapers = [Reaper(config), Reaper(config), Reaper(config)]
    reap_until(reapers, lambda: receiver.calls, timeout=60)
    for _ in range(3):  # more rounds: nothing is delivered twice
        for reaper in reapers:
            reaper.run_once()
        time.sleep(0.3)
    settle(reapers)
    assert len(receiver.calls) == 1
    [call] = receiver.calls
    document = json.loads(call["body"])
    assert (document["id"], document["status"], document["success"]) == (job_id, status, True)
    assert document == api.status(job_id).get_json()
    expected = (
        "sha256=" + hmac.new(CALLBACK_SECRET.encode(), call["body"], hashlib.sha256).hexdigest()
    )
    assert call["headers"]["X-Quartermaster-Signature"] == expected
    assert call["headers"]["X-Quartermaster-Job"] == job_id


def test_a_callback_goes_to_its_full_url_which_no_record_or_log_shows(lab, api, receiver, caplog):
    """A Slack or Discord webhook's secret is in its path: the callback goes there, while
    /history and the reaper's log show only scheme://host:port and a hash of the URL."""
    url = f"{receiver.url}/services/T0/B0/path-secret?sig=query-secret"
    job_id = api.run_ok(image=lab.image, command="true", callback_url=url)
    caplog.set_level(logging.INFO, logger="quartermaster")
    reaper = Reaper(lab_config())
    reap_until([reaper], lambda: receiver.calls)
    settle([reaper])
    assert [call["path"] for call in receiver.calls] == [
        "/services/T0/B0/path-secret?sig=query-secret"
    ]
    shown = f"{receiver.url}/...#sha256:{hashlib.sha256(url.encode()).hexdigest()[:16]}"
    assert api.get_ok(f"/history/{job_id}")["request"]["callback_url"] == shown
    delivered = [r.getMessage() for r in caplog.records if "callback for job" in r.getMessage()]
    assert delivered == [f"reaper: callback for job {job_id} to {shown}: HTTP 204, delivered"]
    assert "path-secret" not in caplog.text and "query-secret" not in caplog.text


def test_a_stop_cut_short_after_its_record_is_ended_by_the_reaper(
    lab, api, docker_client, monkeypatch, caplog
):
    """/stop writes the final record (shutdown, with the log), then removes the service: its
    process dying, or Docker failing, in between left a record saying shutdown while the job ran
    on, which the reaper skipped as finished. Now the reaper removes the service."""
    job_id = api.run_ok(image=lab.image, command="sh -c 'echo before-stop; sleep 300'")
    api.wait_for(job_id, "started")
    api.wait_for_lines(job_id, 1)

    def docker_fails(self, reference):  # the removal never happens, as if the process died
        raise DockerUnavailable("Docker is unreachable")

    with monkeypatch.context() as patch:
        patch.setattr(Swarm, "stop_job", docker_fails)
        assert api.stop(job_id).status_code == 503
    running = {"service": job_id, "desired-state": "running"}
    assert docker_client.api.tasks(filters=running)  # the job runs on
    caplog.set_level(logging.INFO, logger="quartermaster.reaper")
    reaper = Reaper(lab_config())
    reap_until([reaper], lambda: not docker_client.api.services(filters={"id": job_id}), 30)
    reaper.close()
    # By this reaper (the lab is shared: another test's clean-up could remove the service too).
    ended = f"reaper: job {job_id} was stopped by /stop; its service removed"
    assert ended in [record.getMessage() for record in caplog.records]
    wait_for_tasks(docker_client, job_id, 0)
    assert api.status(job_id).get_json()["status"] == "shutdown"
    assert api.logs(job_id) == "before-stop\n"
    timeline = api.get_ok(f"/history/{job_id}")["timeline"]
    assert (timeline[-1]["status"], timeline[-1]["detail"]) == ("shutdown", "stopped by /stop")
    assert api.stop(job_id).status_code == 200  # and again: nothing left to do


def test_a_callback_waits_for_a_dead_receiver_and_the_ttl_waits_for_it(lab, api):
    receiver = Receiver(status=503)
    try:
        job_id = api.run_ok(image=lab.image, command="true", ttl=0, callback_url=receiver.url)
        reaper = Reaper(lab_config())
        reap_until([reaper], lambda: len(receiver.calls) >= 1)
        settle([reaper])
        assert api.status(job_id).status_code == 200  # not expired while the callback is due
        receiver.status = 204
        reaper = Reaper(lab_config())
        reap_until([reaper], lambda: api.status(job_id).status_code == 404, timeout=30)
        settle([reaper])
        # Retried while the receiver failed, delivered once it answered, and only then removed.
        answered = [call["status"] for call in receiver.calls]
        assert len(answered) >= 2 and set(answered[:-1]) == {503} and answered[-1] == 204
        assert {document["id"] for document in receiver.documents()} == {job_id}
    finally:
        receiver.close()


def test_a_delivery_outliving_its_lease_does_not_overwrite_the_next_claim(lab, api, docker_client):
    job_id = api.run_ok(image=lab.image, command="true", callback_url="http://127.0.0.1:9/x")
    api.wait_for(job_id, "complete")
    reaping = Swarm(lab_config()).reaping
    now = time.time()
    first = reaping.claim_callback(job_id, None, now)
    # Its lease ran out: another reaper claims the callback from the record as it is now.
    second = reaping.claim_callback(job_id, first, now + LEASE_SECONDS + 1)
    assert second is not None
    # The first delivery ends after all: its outcome is not recorded over the second claim.
    assert reaping.settle_callback(first, True, now + LEASE_SECONDS + 2, 600) is None
    record = docker_client.api.inspect_config(RECORD_PREFIX + job_id)
    assert record["Version"] == second["Version"]
    assert record["Spec"]["Labels"][STATE] == "delivering"


def test_callbacks_never_follow_redirects_and_give_up_in_time(lab, api):
    receiver = Receiver(status=302)
    try:
        job_id = api.run_ok(image=lab.image, command="true", ttl=0, callback_url=receiver.url)
        reaper = Reaper(lab_config(callback_retry_seconds=0))
        reap_until([reaper], lambda: api.status(job_id).status_code == 404)
        settle([reaper])
        # One attempt, no redirect followed (the redirect target never got a call), then given up.
        assert [call["headers"].get("X-Quartermaster-Job") for call in receiver.calls] == [job_id]
    finally:
        receiver.close()


def test_a_slow_receiver_does_not_hold_up_the_reaper(lab, api):
    slow = Receiver(delay=4)
    try:
        notifying = api.run_ok(image=lab.image, command="true", callback_url=slow.url)
        expiring = api.run_ok(image=lab.image, command="true", ttl=0)
        api.wait_for(notifying, "complete")  # both are due in the reaper's first round
        api.wait_for(expiring, "complete")
        reaper = Reaper(lab_config())
        reap_until([reaper], lambda: api.status(expiring).status_code == 404, timeout=30)
        assert slow.calls == []  # still being answered: the expiry did not wait for it
        settle([reaper])
        assert len(slow.calls) == 1
        # Its outcome is in the job's record too.
        state, detail = RecordStore(support.lab.LAB_STORE_URL).callback_outcome(notifying)
        assert state == "delivered" and detail
    finally:
        slow.close()


def test_a_callback_survives_a_quartermaster_restart(lab, live_server_factory, receiver):
    fast_reaper = {"REAPER_INTERVAL": "0.5", "CALLBACK_ALLOW_PRIVATE": "1"}
    first = live_server_factory(env=fast_reaper)
    job_id = first.client().run_ok(
        image=lab.image, command="sh -c 'sleep 4'", callback_url=receiver.url
    )
    first.stop(signal.SIGKILL)  # the job is still running: its callback is not due yet
    first.process.wait()
    time.sleep(6)  # the job ends while no quartermaster runs
    assert receiver.calls == []
    second = live_server_factory(env=fast_reaper)
    deadline = time.monotonic() + 30
    while not receiver.calls and time.monotonic() < deadline:
        time.sleep(0.2)
    time.sleep(2)  # several more rounds of the new reaper
    assert [doc["id"] for doc in receiver.documents()] == [job_id]
    assert receiver.documents()[0]["status"] == "complete"
    second.stop()


def test_claims_whose_holder_is_gone_are_removed(lab, docker_client):
    """An Idempotency-Key claim left by a /run that died goes; one still held stays."""
    stale = hold_claim(docker_client, "reaper-stale", until=time.time() - 1)
    held = hold_claim(docker_client, "reaper-held", until=time.time() + 60)
    reaper = Reaper(lab_config())
    reaper.run_once()
    reaper.close()
    left = {claim["ID"] for claim in docker_client.api.configs(filters={"label": claims.CLAIM_OF})}
    assert stale not in left
    assert held in left
