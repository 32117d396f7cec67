"""Schedules on the lab (service/schedules.py, in each instance's background process): each
tick fired once by two instances on PostgreSQL, with one instance's background process killed
at a tick; the overlap policies against live jobs; missed ticks and a catch-up after every
instance was down; a schedule's jobs listed under their template, by the API and `qm`.

A cron fires at most once a minute: each test waits for one or two real minute boundaries."""

import os
import signal
import time
from datetime import UTC, datetime

from support.lab import this_test_labels, wait_until
from support.qm_command import qm
from support.settings import TOKEN

EVERY_MINUTE = {"cron": "* * * * *", "timezone": "Europe/Berlin"}


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


def background_process_of(server) -> int:
    """The pid of the server's background process (the reaper and the schedules)."""
    for proc in os.listdir("/proc"):
        if not proc.isdigit():
            continue
        try:
            with open(f"/proc/{proc}/stat") as stat:
                parent = int(stat.read().rsplit(")", 1)[1].split()[1])
            with open(f"/proc/{proc}/cmdline", "rb") as cmdline:
                command = cmdline.read()
        except (OSError, IndexError, ValueError):
            continue
        if parent == server.process.pid and b"quartermaster.background" in command:
            return int(proc)
    raise AssertionError("no background process")


def test_two_instances_fire_each_tick_once_even_with_one_killed_at_a_tick(
    lab, live_server_factory, postgres_url
):
    settings = {"DATABASE_URL": postgres_url, "REAPER_INTERVAL": "1", "WORKERS": "2"}
    first, second = live_server_factory(env=settings), live_server_factory(env=settings)
    made = first.client().post("/templates", json=template(lab, "minutely", ["true"]))
    assert made.status_code == 201, made.text
    ticks = made.json()["schedule"]["next"][:2]
    # The first tick: both instances race for it. The second: the first instance's background
    # process is killed as it comes (its master starts another), the second's races on.
    wait_for(epoch(ticks[1]) - 0.05)
    os.kill(background_process_of(first), signal.SIGKILL)
    wait_until(lambda: len(runs_of(second, "minutely")) >= 2, 60, "the second tick never fired")
    runs = {run["tick"]: run for run in runs_of(second, "minutely")}
    assert [runs[tick]["outcome"] for tick in ticks] == ["fired", "fired"], runs
    # One job a tick (a later tick may have fired meanwhile: its own job).
    jobs = [job for job in jobs_of(first, "minutely") if job["scheduled_for"] in ticks]
    assert sorted(job["scheduled_for"] for job in jobs) == ticks
    assert {runs[tick]["job_id"] for tick in ticks} == {job["id"] for job in jobs}

    def ended() -> bool:
        runs = {run["tick"]: run for run in runs_of(first, "minutely")}
        return [runs[tick]["status"] for tick in ticks] == ["complete", "complete"]

    wait_until(ended, 60, "its jobs did not end")


def test_overlap_forbid_skips_replace_stops_and_qm_shows_the_runs(lab, live_server_factory):
    server = live_server_factory(env={"REAPER_INTERVAL": "1"})
    client = server.client()
    for name, overlap in (("forbid", "forbid"), ("replace", "replace")):
        body = template(lab, name, ["sleep", "300"], overlap=overlap)
        assert client.post("/templates", json=body).status_code == 201
    ticks = client.get("/templates/forbid").json()["schedule"]["next"][:2]
    wait_for(epoch(ticks[1]) + 1)

    def second_tick_taken() -> bool:
        forbid, replace = runs_of(server, "forbid"), runs_of(server, "replace")
        return len(forbid) == 2 and len(replace) == 2 and replace[0]["outcome"] == "fired"

    wait_until(second_tick_taken, 60, "no second tick")
    skipped, fired = runs_of(server, "forbid")
    assert (skipped["outcome"], fired["outcome"]) == ("skipped", "fired")
    assert fired["job_id"] in skipped["reason"]
    assert len(jobs_of(server, "forbid")) == 1
    newer, older = runs_of(server, "replace")
    wait_until(lambda: runs_of(server, "replace")[1]["status"] == "shutdown", 30, "not replaced")
    assert client.get(f"/status/{newer['job_id']}").json()["status"] in ("pending", "started")
    shown = qm(server.url, TOKEN, "templates", "runs", "forbid")
    assert shown.returncode == 0, shown.stderr
    assert "skipped" in shown.stdout and "fired" in shown.stdout
    listed = qm(server.url, TOKEN, "jobs", "--template", "replace")
    assert newer["job_id"][:12] in listed.stdout and older["job_id"][:12] in listed.stdout
    paused = client.request("PATCH", "/templates/forbid", json={"schedule": {"paused": True}})
    assert paused.json()["schedule"]["next"] == []


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
