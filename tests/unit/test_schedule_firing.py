"""Schedules fired (service/schedules.py) on the in-memory runtime, with a fake clock: each tick
taken once whatever the schedulers (two instances, a scheduler stopped between taking a tick and
recording its job), what a tick becomes (fired, skipped by its overlap policy, missed, failed to
start), the plan of due ticks (jobs/ticks.py), and a schedule over HTTP (its fields refused
with their names, its next ticks, pausing, its runs)."""

import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from quartermaster.compose import compose_app, compose_service
from quartermaster.jobs.errors import StoreUnavailable
from quartermaster.jobs.schedules import Schedule
from quartermaster.jobs.ticks import MAX_MISSED_RECORDED, ON_TIME_SECONDS, plan
from quartermaster.jobs.times import timestamp_of
from quartermaster.service.schedules import UNSETTLED_SECONDS, ScheduleService
from quartermaster.store import RecordStore
from quartermaster.store.schedules import ScheduleStore
from quartermaster.store.templates import TemplateStore
from support.api import ApiClient, assert_error
from support.settings import BEARER, make_config
from support.tenants import bearer, make_key, make_tenant

EVERY_MINUTE = {"cron": "* * * * *", "timezone": "Europe/Berlin"}
REPORT = {
    "name": "report",
    "image": "qm/busybox:latest",
    "command": ["sleep", "30"],
    "memory": 16,
    "schedule": EVERY_MINUTE,
}


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


# -- the plan of due ticks (pure) ---------------------------------------------------------------


def test_a_tick_taken_on_time_fires_and_the_next_is_the_following_one():
    planned = plan(Schedule("* * * * *", "UTC"), at("2026-12-08 10:00"), at("2026-12-08 10:00:02"))
    assert planned.fire == at("2026-12-08 10:00")
    assert planned.missed == ()
    assert planned.next_tick == at("2026-12-08 10:01")


def test_ticks_missed_are_recorded_and_only_the_current_one_fires():
    planned = plan(Schedule("* * * * *", "UTC"), at("2026-12-08 10:00"), at("2026-12-08 10:05:10"))
    assert planned.fire == at("2026-12-08 10:05")  # 10 s late: on time
    assert [tick for tick, _ in planned.missed] == [
        at(f"2026-12-08 10:0{minute}") for minute in range(5)
    ]
    assert all("no instance took it" in reason for _, reason in planned.missed)


@pytest.mark.parametrize(("catch_up", "fires"), [(0, False), (3600, False), (3 * 3600, True)])
def test_the_newest_missed_tick_catches_up_only_within_catch_up(catch_up, fires):
    schedule = Schedule("0 3 * * *", "Europe/Berlin", catch_up=catch_up)
    # Every instance down from before 03:00 to 05:00 Berlin (winter: UTC+1).
    planned = plan(schedule, at("2026-12-08 02:00"), at("2026-12-08 04:00"))
    assert planned.fire == (at("2026-12-08 02:00") if fires else None)
    assert [tick for tick, _ in planned.missed] == ([] if fires else [at("2026-12-08 02:00")])
    assert planned.next_tick == at("2026-12-09 02:00")


def test_a_week_of_missed_minutes_records_the_newest_and_counts_the_rest():
    planned = plan(Schedule("* * * * *", "UTC"), at("2026-12-01 00:00"), at("2026-12-08 00:00:30"))
    assert planned.fire == at("2026-12-08 00:00")
    assert len(planned.missed) == MAX_MISSED_RECORDED
    assert planned.missed[-1][0] == at("2026-12-07 23:59")
    older = 7 * 24 * 60 - MAX_MISSED_RECORDED
    assert f"{older} older ticks were missed too" in planned.missed[0][1]


def test_on_time_is_a_bound():
    due = at("2026-12-08 03:00")
    late = due + timedelta(seconds=ON_TIME_SECONDS + 1)
    assert plan(Schedule("0 3 * * *", "UTC"), due, late).fire is None


# -- firing, on the in-memory runtime --------------------------------------------------------


class Clock:
    def __init__(self, now: float):
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def site(runtime):
    """An app, and schedulers over its store (each an instance of its own), on one fake clock."""
    config = make_config()
    store = RecordStore(config.store_url)
    store.live()
    app = compose_app(config, runtime, store)
    clock = Clock(0.0)
    made: list[ScheduleService] = []

    def scheduler() -> ScheduleService:
        jobs, _, templates = compose_service(config, runtime, store)
        service = ScheduleService(ScheduleStore(store.connection), templates, jobs, clock)
        made.append(service)
        return service

    yield app.test_client(), store, clock, scheduler
    for service in made:
        service.close()
    store.close()


def make(client, body: dict = REPORT, headers: dict = BEARER) -> dict:
    answer = client.post("/templates", json=body, headers=headers)
    assert answer.status_code == 201, answer.get_json()
    return answer.get_json()


def next_tick_of(store: RecordStore, name: str = "report") -> int | None:
    with store.connection.reading() as connection:
        return connection.execute(
            sa.text("SELECT next_tick FROM templates WHERE name = :name"), {"name": name}
        ).scalar()


def runs(client, name: str = "report", headers: dict = BEARER, **query) -> list[dict]:
    answer = client.get(f"/templates/{name}/runs", query_string=query, headers=headers)
    assert answer.status_code == 200, answer.get_json()
    return answer.get_json()["runs"]


def template_jobs(client, name: str = "report") -> list[dict]:
    return ApiClient(client).get_ok(f"/jobs?template={name}")["jobs"]


def test_a_due_tick_runs_one_job_that_names_its_template_and_tick(site):
    client, store, clock, scheduler = site
    made = make(client)
    assert made["schedule"]["description"].endswith("(Europe/Berlin)")
    tick = next_tick_of(store)
    assert made["schedule"]["next"][0] == timestamp_of(tick)
    clock.now = tick / 1e9 + 1
    assert scheduler().fire_due() == 1
    (job,) = template_jobs(client)
    assert (job["template"], job["scheduled_for"]) == ("report", timestamp_of(tick))
    (run,) = runs(client)
    assert (run["tick"], run["outcome"]) == (job["scheduled_for"], "fired")
    assert run["job_id"] == job["id"]
    assert run["status"] in ("pending", "started")
    # Moved on: the next tick is the following minute's, and nothing more is due now.
    assert next_tick_of(store) == tick + 60 * 10**9
    assert scheduler().fire_due() == 0


def test_two_instances_on_one_tick_start_one_job(site):
    client, store, clock, scheduler = site
    make(client)
    clock.now = next_tick_of(store) / 1e9 + 1
    schedulers = [scheduler() for _ in range(4)]
    threads = [threading.Thread(target=service.fire_due) for service in schedulers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(template_jobs(client)) == 1
    assert [run["outcome"] for run in runs(client)] == ["fired"]


def test_a_tick_left_firing_by_a_stopped_scheduler_is_fired_once_by_another(site, monkeypatch):
    client, store, clock, scheduler = site
    make(client)
    tick = next_tick_of(store)
    clock.now = tick / 1e9 + 1
    stopped = scheduler()
    monkeypatch.setattr(stopped, "_start", lambda *args: None)  # it stopped after taking it
    stopped.fire_due()
    assert [run["outcome"] for run in runs(client)] == ["firing"]
    assert template_jobs(client) == []
    other = scheduler()
    other.fire_due()  # too soon: its scheduler may still be starting it
    assert template_jobs(client) == []
    clock.now = tick / 1e9 + UNSETTLED_SECONDS + 2
    other.fire_due()
    (job,) = template_jobs(client)
    assert runs(client)[-1]["job_id"] == job["id"]


def test_a_scheduler_stopped_after_starting_the_job_leaves_one_job(site, monkeypatch):
    client, store, clock, scheduler = site
    make(client)
    tick = next_tick_of(store)
    clock.now = tick / 1e9 + 1
    stopped = scheduler()
    original = ScheduleStore.settle

    def stopped_before_recording(*args, **kwargs):
        raise SystemExit  # the process ends between the job's start and its record

    monkeypatch.setattr(ScheduleStore, "settle", stopped_before_recording)
    with pytest.raises(SystemExit):
        stopped.fire_due()
    monkeypatch.setattr(ScheduleStore, "settle", original)
    (started,) = template_jobs(client)
    clock.now = tick / 1e9 + UNSETTLED_SECONDS + 2
    scheduler().fire_due()
    (job,) = template_jobs(client)  # the tick's job found again: none more
    assert job["id"] == started["id"]
    assert [(run["outcome"], run["job_id"]) for run in runs(client)] == [("fired", job["id"])]


def test_the_scheduler_loop_fires_what_is_due_and_waits_out_a_store_away(site, monkeypatch):
    client, store, clock, scheduler = site
    make(client)
    tick = next_tick_of(store)
    clock.now = tick / 1e9 + 1
    service = scheduler()
    original, attempts = ScheduleStore.take, []

    def away_once(self, *args):
        attempts.append(args)
        if len(attempts) == 1:
            raise StoreUnavailable("the record store is out of reach")
        return original(self, *args)

    monkeypatch.setattr(ScheduleStore, "take", away_once)
    stop = threading.Event()
    loop = threading.Thread(target=service.run_forever, args=(stop,))
    loop.start()
    try:
        deadline = time.monotonic() + 10
        while not template_jobs(client) and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        stop.set()
        loop.join(5)
    assert not loop.is_alive()
    (job,) = template_jobs(client)  # taken at the pass after the store came back
    assert job["scheduled_for"] == timestamp_of(tick) and len(attempts) == 2


def test_a_tick_recorded_before_is_never_fired_again_and_the_schedule_moves_on(site):
    client, store, clock, scheduler = site
    make(client)
    tick = next_tick_of(store)
    clock.now = tick / 1e9 + 1
    scheduler().fire_due()
    (job,) = template_jobs(client)
    # The next tick put back to the one taken (as a stale write would): taken again, the tick
    # is not recorded twice nor fired again, and the schedule moves on.
    with store.connection.writing() as connection:
        connection.execute(sa.text("UPDATE templates SET next_tick = :tick"), {"tick": tick})
    scheduler().fire_due()
    assert template_jobs(client) == [job]
    assert [run["outcome"] for run in runs(client)] == ["fired"]
    assert next_tick_of(store) == tick + 60 * 10**9


def test_a_change_that_keeps_the_schedule_never_writes_its_next_tick(site, monkeypatch):
    client, store, clock, scheduler = site
    make(client)
    read_before = TemplateStore.template
    tick = next_tick_of(store)

    def read_then_taken(self, tenant, name):
        stored = read_before(self, tenant, name)
        clock.now = tick / 1e9 + 1
        scheduler().fire_due()  # a scheduler takes the tick between the read and the write
        return stored

    monkeypatch.setattr(TemplateStore, "template", read_then_taken)
    client.patch("/templates/report", json={"memory": 32}, headers=BEARER)
    monkeypatch.setattr(TemplateStore, "template", read_before)
    assert next_tick_of(store) == tick + 60 * 10**9  # not the one read before the tick was taken


@pytest.mark.parametrize("overlap", ["allow", "forbid", "replace"])
def test_overlap_counts_the_templates_live_jobs(site, overlap):
    client, store, clock, scheduler = site
    make(client, {**REPORT, "schedule": {**EVERY_MINUTE, "overlap": overlap}})
    first_tick = next_tick_of(store)
    clock.now = first_tick / 1e9 + 1
    scheduler().fire_due()
    (first,) = template_jobs(client)  # sleeps 30 s: live at the next tick
    clock.now += 60
    scheduler().fire_due()
    newest, *_ = runs(client)
    jobs = {job["id"]: job for job in template_jobs(client)}
    if overlap == "forbid":
        assert newest["outcome"] == "skipped" and newest["job_id"] is None
        assert first["id"] in newest["reason"] and len(jobs) == 1
    else:
        assert newest["outcome"] == "fired" and len(jobs) == 2
        stopped = ApiClient(client).status(first["id"]).get_json()["status"]
        assert stopped in (("shutdown",) if overlap == "replace" else ("pending", "started"))


def test_a_replace_tick_fired_again_stops_the_jobs_before_it_and_not_its_own(site, monkeypatch):
    """Its scheduler stopped after taking the tick, before stopping the live job: the one that
    fires it again stops that job; fired again once more, it keeps the tick's own job."""
    client, store, clock, scheduler = site
    make(client, {**REPORT, "schedule": {**EVERY_MINUTE, "overlap": "replace"}})
    first_tick = next_tick_of(store)
    clock.now = first_tick / 1e9 + 1
    scheduler().fire_due()
    (first,) = template_jobs(client)  # sleeps 30 s: live at the next tick
    clock.now += 60
    stopped = scheduler()
    monkeypatch.setattr(stopped, "_start", lambda *args: None)  # it stopped after taking it
    stopped.fire_due()
    assert ApiClient(client).status(first["id"]).get_json()["status"] != "shutdown"
    clock.now += UNSETTLED_SECONDS + 1
    scheduler().fire_due()
    newest, _ = runs(client)
    assert newest["outcome"] == "fired"
    assert ApiClient(client).status(first["id"]).get_json()["status"] == "shutdown"
    # As if left `firing` after its job started (its record not written), taken long enough
    # ago to be fired again (before the next tick is due): its own job stays.
    with store.connection.writing() as connection:
        connection.execute(
            sa.text("UPDATE template_ticks SET outcome = 'firing', job_id = NULL, "
                    "recorded_at = :taken WHERE tick = :tick"),
            {"tick": first_tick + 60 * 10**9, "taken": first_tick + 61 * 10**9},
        )  # fmt: skip
    scheduler().fire_due()
    assert ApiClient(client).status(newest["job_id"]).get_json()["status"] in ("pending", "started")
    assert runs(client)[0]["job_id"] == newest["job_id"]


def test_forbid_counts_a_queued_job_too(site):
    client, store, clock, scheduler = site
    make_tenant(client, "team-q", quota={"jobs": 1, "queued": 10})
    key = bearer(make_key(client, "team-q", "k", ["templates", "dispatch", "read"])["key"])
    schedule = {**EVERY_MINUTE, "overlap": "forbid"}
    make(client, {**REPORT, "schedule": schedule}, headers=key)
    holder = client.post("/templates/report/dispatch", json={}, headers=key).get_json()["id"]
    assert ApiClient(client).status(holder).get_json()["status"] != "queued"
    queued = client.post("/templates/report/dispatch", json={}, headers=key).get_json()["id"]
    assert ApiClient(client).status(queued).get_json()["status"] == "queued"
    client.post("/stop", json={"id": holder}, headers=key)  # the queued one is admitted, live
    clock.now = next_tick_of(store) / 1e9 + 1
    scheduler().fire_due()
    (run,) = runs(client, headers=key)
    assert run["outcome"] == "skipped", run


def test_a_tick_its_tenants_policy_refuses_failed_to_start_with_the_reason(site):
    client, store, clock, scheduler = site
    make_tenant(client, "team-p", images=["qm/*"])
    key = bearer(make_key(client, "team-p", "k", ["templates", "read"])["key"])
    make(client, headers=key)
    client.patch("/tenants/team-p", json={"images": ["other/*"]}, headers=BEARER)
    clock.now = next_tick_of(store) / 1e9 + 1
    scheduler().fire_due()
    (run,) = runs(client, headers=key)
    assert (run["outcome"], run["job_id"]) == ("failed to start", None)
    assert "image" in run["reason"]


def test_after_an_outage_the_missed_ticks_are_recorded_and_the_newest_catches_up(site):
    client, store, clock, scheduler = site
    make(client, {**REPORT, "schedule": {**EVERY_MINUTE, "catch_up": 600}})
    first = next_tick_of(store)
    clock.now = first / 1e9 + 5 * 60 + 40  # five ticks missed, 40 s into the sixth minute
    scheduler().fire_due()
    outcomes = [(run["outcome"], run["job_id"] is not None) for run in runs(client)]
    assert outcomes == [("fired", True)] + [("missed", False)] * 5
    assert len(template_jobs(client)) == 1


def test_a_paused_schedule_has_no_next_tick_and_resumes_from_now(site):
    client, store, clock, scheduler = site
    make(client)
    paused = client.patch("/templates/report", json={"schedule": {"paused": True}}, headers=BEARER)
    assert paused.status_code == 200, paused.get_json()
    schedule = paused.get_json()["schedule"]
    assert (schedule["paused"], schedule["next"], schedule["cron"]) == (True, [], "* * * * *")
    assert next_tick_of(store) is None
    clock.now = 4_000_000_000
    assert scheduler().fire_due() == 0
    unpause = {"schedule": {"paused": False}}
    resumed = client.patch("/templates/report", json=unpause, headers=BEARER)
    assert len(resumed.get_json()["schedule"]["next"]) == 5
    assert next_tick_of(store) is not None
    # Another field changed: the schedule, the same, keeps its next tick.
    kept = next_tick_of(store)
    client.patch("/templates/report", json={"memory": 32}, headers=BEARER)
    assert next_tick_of(store) == kept
    # Removed: null.
    removed = client.patch("/templates/report", json={"schedule": None}, headers=BEARER)
    assert removed.get_json()["schedule"] is None and next_tick_of(store) is None


def test_runs_are_keyset_pages_newest_first_and_go_with_their_template(site):
    client, store, clock, scheduler = site
    make(client, {**REPORT, "command": ["true"]})
    first = next_tick_of(store)
    for minute in range(5):
        clock.now = first / 1e9 + 60 * minute + 1
        scheduler().fire_due()
    page = client.get("/templates/report/runs?limit=2", headers=BEARER).get_json()
    ticks = [run["tick"] for run in page["runs"]]
    assert ticks == sorted(ticks, reverse=True) and len(ticks) == 2
    rest = client.get(
        f"/templates/report/runs?limit=10&cursor={page['next_cursor']}", headers=BEARER
    ).get_json()
    assert len(rest["runs"]) == 3 and rest["next_cursor"] is None
    assert max(run["tick"] for run in rest["runs"]) < min(ticks)
    # Removed: its ticks with it; its jobs stay, and a new template of its name starts afresh.
    client.delete("/templates/report", headers=BEARER)
    assert len(template_jobs(client)) == 5
    make(client)
    assert runs(client) == []


# -- a schedule's fields over HTTP ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("schedule", "field", "words"),
    [
        ({**EVERY_MINUTE, "cron": "61 * * * *"}, "cron", "minute"),
        ({**EVERY_MINUTE, "cron": "0 0 30 2 *"}, "cron", "never fires"),
        ({**EVERY_MINUTE, "cron": "@fortnightly"}, "cron", "macro"),
        ({**EVERY_MINUTE, "timezone": "Mars/Olympus"}, "timezone", "unknown time zone"),
        ({**EVERY_MINUTE, "timezone": "localtime"}, "timezone", "unknown time zone"),
        ({"cron": "* * * * *"}, "timezone", "required"),
        ({**EVERY_MINUTE, "overlap": "sometimes"}, "overlap", "allow"),
        ({**EVERY_MINUTE, "catch_up": -1}, "catch_up", "greater"),
        ({**EVERY_MINUTE, "paused": 0}, "paused", "true or false"),
    ],
)
def test_a_schedules_fields_are_refused_with_their_names(flask_client, schedule, field, words):
    answer = flask_client.post("/templates", json={**REPORT, "schedule": schedule}, headers=BEARER)
    fields = assert_error(answer, 400)["fields"]
    assert words in str(fields["schedule"][field]), fields


@pytest.mark.parametrize(
    "body",
    [
        {"parameters": {"required": ["DATE"]}},
        {"payload": "required"},
    ],
)
def test_a_schedule_needs_a_template_its_ticks_can_run_without_input(flask_client, body):
    answer = flask_client.post("/templates", json={**REPORT, **body}, headers=BEARER)
    fields = assert_error(answer, 400)["fields"]
    assert "ticks give no" in str(fields["schedule"])
    # Made without a schedule, then given one: the same refusal.
    make(flask_client, {**REPORT, **body, "schedule": None})
    changed = flask_client.patch("/templates/report", json={"schedule": EVERY_MINUTE},
                                 headers=BEARER)  # fmt: skip
    assert "ticks give no" in str(assert_error(changed, 400)["fields"]["schedule"])


def test_another_tenants_runs_are_a_template_that_does_not_exist(flask_client):
    make(flask_client)
    make_tenant(flask_client, "team-r")
    key = bearer(make_key(flask_client, "team-r", "k", ["read"])["key"])
    assert_error(flask_client.get("/templates/report/runs", headers=key), 404)
    assert flask_client.get("/templates/report/runs", headers=BEARER).status_code == 200


def test_a_change_gives_some_of_a_schedules_fields_and_a_new_schedule_all_it_needs(flask_client):
    make(flask_client)
    same = flask_client.patch("/templates/report", json={"schedule": {}}, headers=BEARER)
    assert same.get_json()["schedule"]["cron"] == "* * * * *"
    daily = {"schedule": {"cron": "@daily", "overlap": "replace"}}
    changed = flask_client.patch("/templates/report", json=daily, headers=BEARER).get_json()
    assert (changed["schedule"]["cron"], changed["schedule"]["overlap"]) == ("@daily", "replace")
    assert changed["schedule"]["timezone"] == "Europe/Berlin"
    make(flask_client, {**REPORT, "name": "plain", "schedule": None})
    alone = flask_client.patch("/templates/plain", json={"schedule": {"paused": True}},
                               headers=BEARER)  # fmt: skip
    assert "cron" in assert_error(alone, 400)["fields"]["schedule"]
