"""Schedules on the lab (service/schedules.py, in each instance's background process): each
tick fired once by two instances on PostgreSQL, with one instance's background process killed
at a tick; the overlap policies against live jobs; missed ticks and a catch-up after every
instance was down; a schedule's jobs listed under their template, by the API and `qm`.

A cron fires at most once a minute: each test waits for one or two real minute boundaries."""

import os
import signal
import time
from datetime import UTC, datetime

import pytest

from support.lab import background_processes_of, this_test_labels, wait_until
from support.qm_command import qm
from support.settings import TOKEN

EVERY_MINUTE = {"cron": "* * * * *", "timezone": "Europe/Berlin"}
# Each test waits for a minute's boundary, asleep: each in a group of its own, so that make
# test-lab's processes wait for them side by side, not in turn (tests/support/lab_scheduling.py).
EXACTLY_ONCE, OVERLAP, CATCH_UP = (pytest.mark.xdist_group(f"schedules-{part}")
                                   for part in ("exactly-once", "overlap", "catch-up"))  # fmt: skip


def template(lab, name: str, command: list[str], **schedule) -> dict:
    return {
        "name": name,
        "image": lab.image,
        "command": command,
        "memory": 16,
        "labels": this_test_labels(),
        "schedule": {**EVERY_MINUTE, **schedule},
    }


def epoch(timestamp: str) -> float:
    return datetime.fromisoformat(timestamp.replace("Z", "+00:00")).astimezone(UTC).timestamp()


def wait_for(moment: float) -> None:
    time.sleep(max(0.0, moment - time.time()))


def runs_of(server, name: str) -> list[dict]:
    answer = server.client().get(f"/templates/{name}/runs")
    assert answer.status_code == 200, answer.text
    return answer.json()["runs"]


def jobs_of(server, name: str) -> list[dict]:
    answer = server.client().get("/jobs", params={"template": name})
    assert answer.status_code == 200, answer.text
    return answer.json()["jobs"]


@EXACTLY_ONCE
def test_two_instances_fire_a_tick_once_with_one_killed_as_it_comes(
    lab, live_server_factory, postgres_url
):
    settings = {"DATABASE_URL": postgres_url, "REAPER_INTERVAL": "1", "WORKERS": "2"}
    first, second = live_server_factory(env=settings), live_server_factory(env=settings)
    for number in range(3):
        body = template(lab, f"minutely-{number}", ["true"])
        assert first.client().post("/templates", json=body).status_code == 201
    tick = first.client().get("/templates/minutely-0").json()["schedule"]["next"][0]
    # The first instance's background process is killed as the tick comes (its master starts
    # another, which races on); the second instance's races for every tick too.
    (background,) = background_processes_of(first)
    wait_for(epoch(tick) - 0.05)
    os.kill(background, signal.SIGKILL)
    names = [f"minutely-{number}" for number in range(3)]

    def recorded() -> bool:
        return all(any(run["tick"] == tick for run in runs_of(second, name)) for name in names)

    wait_until(recorded, 60, "the tick was not recorded")
    for name in names:
        (run,) = [run for run in runs_of(first, name) if run["tick"] == tick]
        assert run["outcome"] in ("fired", "firing"), run
        wait_until(lambda name=name: [run["outcome"] for run in runs_of(first, name)
                                      if run["tick"] == tick] == ["fired"],
                   60, "its job was never recorded")  # fmt: skip
        jobs = [job for job in jobs_of(second, name) if job["scheduled_for"] == tick]
        assert [job["id"] for job in jobs] == [
            run["job_id"] for run in runs_of(second, name) if run["tick"] == tick
        ]


@OVERLAP
def test_overlap_forbid_skips_replace_stops_and_qm_shows_the_runs(lab, live_server_factory):
    server = live_server_factory(env={"REAPER_INTERVAL": "1"})
    client = server.client()
    live = {}
    for overlap in ("forbid", "replace"):
        body = template(lab, overlap, ["sleep", "300"], overlap=overlap)
        assert client.post("/templates", json=body).status_code == 201
        live[overlap] = client.post(f"/templates/{overlap}/dispatch", json={}).json()["id"]
    tick = client.get("/templates/forbid").json()["schedule"]["next"][0]
    wait_for(epoch(tick))
    wait_until(lambda: runs_of(server, "forbid") and runs_of(server, "replace")
               and runs_of(server, "replace")[0]["outcome"] == "fired", 60, "no tick")  # fmt: skip
    (skipped,) = runs_of(server, "forbid")
    assert (skipped["tick"], skipped["outcome"]) == (tick, "skipped")
    assert live["forbid"] in skipped["reason"]
    assert [job["id"] for job in jobs_of(server, "forbid")] == [live["forbid"]]
    (fired,) = runs_of(server, "replace")
    wait_until(lambda: client.get(f"/status/{live['replace']}").json()["status"] == "shutdown",
               30, "not replaced")  # fmt: skip
    assert client.get(f"/status/{fired['job_id']}").json()["status"] in ("pending", "started")
    shown = qm(server.url, TOKEN, "templates", "runs", "forbid")
    assert shown.returncode == 0, shown.stderr
    assert "skipped" in shown.stdout and live["forbid"] in shown.stdout
    described = qm(server.url, TOKEN, "templates", "show", "forbid")
    assert "overlap:" in described.stdout and "forbid" in described.stdout, described.stdout
    listed = qm(server.url, TOKEN, "jobs", "--template", "replace")
    assert fired["job_id"][:12] in listed.stdout and live["replace"][:12] in listed.stdout
    paused = client.request("PATCH", "/templates/forbid", json={"schedule": {"paused": True}})
    assert paused.json()["schedule"]["next"] == []


@CATCH_UP
def test_ticks_missed_while_every_instance_was_down_catch_up_within_catch_up(
    lab, live_server_factory
):
    server = live_server_factory(env={"REAPER_INTERVAL": "1"})
    client = server.client()
    for name, catch_up in (("strict", 0), ("lenient", 600)):
        body = template(lab, name, ["true"], catch_up=catch_up)
        assert client.post("/templates", json=body).status_code == 201
    tick = client.get("/templates/strict").json()["schedule"]["next"][0]
    server.stop()
    wait_for(epoch(tick) + 40)  # over the 30 s a tick is on time: missed
    server.start()
    wait_until(lambda: runs_of(server, "strict") and runs_of(server, "lenient"), 30, "no record")
    (missed,) = runs_of(server, "strict")
    assert (missed["tick"], missed["outcome"], missed["job_id"]) == (tick, "missed", None)
    assert "no instance took it" in missed["reason"]
    (caught_up,) = runs_of(server, "lenient")
    assert (caught_up["tick"], caught_up["outcome"]) == (tick, "fired")
    (job,) = jobs_of(server, "lenient")
    assert (job["id"], job["scheduled_for"]) == (caught_up["job_id"], tick)
    assert jobs_of(server, "strict") == []
