"""The reaper is supervised: a real quartermaster whose reaper is SIGKILLed starts another, which
still stops jobs past their timeout and delivers callbacks; /healthz and /metrics tell its
liveness."""

import os
import signal
import time

import pytest
import requests

from support.lab import background_processes_of, metric_values, wait_until
from support.receivers import Receiver


@pytest.fixture
def receiver():
    receiver = Receiver()
    yield receiver
    receiver.close()


def test_a_killed_reaper_is_started_again_and_does_its_work(lab, live_server_factory, receiver):
    server = live_server_factory(env={"REAPER_INTERVAL": "0.5", "CALLBACK_ALLOW_PRIVATE": "1"})
    wait_until(
        lambda: len(background_processes_of(server)) == 1, 10, "the server started no reaper"
    )
    [first] = background_processes_of(server)
    health = requests.get(f"{server.url}/healthz", timeout=5).json()
    assert health["reaper"]["state"] == "ok"

    os.kill(first, signal.SIGKILL)
    wait_until(
        lambda: background_processes_of(server) not in ([], [first]),
        15,
        "the reaper was not started again",
    )
    assert len(background_processes_of(server)) == 1

    body = {"image": lab.image, "command": "sleep 60", "timeout": 2, "callback_url": receiver.url}
    job = server.client().run_ok(**body)
    wait_until(lambda: receiver.calls, 60, "the new reaper never delivered the callback")
    [document] = receiver.documents()
    assert (document["id"], document["status"]) == (job, "failed")
    assert document["error"] == "timed out after 2s"

    health = requests.get(f"{server.url}/healthz", timeout=5).json()
    assert health["reaper"]["state"] == "ok"
    assert health["reaper"]["seconds_since_progress"] < 5
    values = metric_values(server.client().get("/metrics").text)
    assert values["quartermaster_reaper_restarts_total"] == 1
    assert time.time() - values["quartermaster_reaper_heartbeat_timestamp_seconds"] < 5
    assert f"reaper: process {first} exited" in server.log_text()
