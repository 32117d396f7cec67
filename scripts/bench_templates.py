"""`make bench`, the templates' part: quartermaster as deployed (loopback only), its templates
and their schedules, each figure against the raw Docker API or /run doing the same work:

- firing precision: SCHEDULED templates firing every minute, over BOUNDARIES minute boundaries,
  the background process on (REAPER_INTERVAL=1): from each tick's time to its job's service's
  creation (CreatedAt), against SCHEDULED services created raw from as many threads at once;
- the idle CPU of the instance (its gunicorn master and workers, its background process) with
  IDLE_TEMPLATES paused and IDLE_TEMPLATES active templates that are not due, against the same
  instance with no template;
- POST /templates/:name/dispatch against POST /run with the same fields, alternating, ROUNDS each.

Prints the figures and writes them to bench-templates-results.json. Needs the lab (`make lab`).
"""

import json
import os
import shutil
import statistics
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import bench
import requests

from quartermaster.jobs import labels as job_labels
from quartermaster.jobs.spec import JobSpec
from quartermaster.jobs.times import nanos_of
from quartermaster.swarm.docker_connection import DockerConnection
from quartermaster.swarm.spec import service_spec

RESULTS = Path("bench-templates-results.json")
DEPLOYMENT = "qm-bench-templates"
SCHEDULED = 100  # templates firing every minute
BOUNDARIES = 3  # minute boundaries whose ticks are timed
IDLE_TEMPLATES = 1_000  # paused, and as many active that are not due
ROUNDS = 100
THREADS = 16
QUICK = {"memory": 6, "command": ["true"]}  # placed at once, over at once (bench_quotas.py's)
EVERY_MINUTE = {"cron": "* * * * *", "timezone": "UTC"}
NOT_DUE = {"cron": "0 0 1 1 *", "timezone": "UTC"}  # the next New Year: weeks away
SETTLE_SECONDS = 15  # the reaper's and the schedules' rounds after a change: settled


def main() -> None:
    beside = pytest_processes()
    figures: list[dict] = []
    try:
        for measure in (firing_figure, idle_figure, dispatch_figure):
            figures.append(measure())
            beside += pytest_processes()
    finally:
        remove_jobs()
    results = {
        "machine": bench.machine(),
        "date": time.strftime("%Y-%m-%d"),
        # The lab is shared: the test runs seen on it at the start and after each figure.
        "running_beside": sorted(set(beside)),
        "figures": figures,
    }
    bench.print_figures(results)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    print(f"\nwritten to {RESULTS}")


def start(**settings: str) -> tuple[bench.Server, str]:
    return bench.start_deployment(DEPLOYMENT, **settings)


def engine(pool_size: int = THREADS):
    return DockerConnection(bench.MANAGER, timeout=60, pool_size=pool_size).engine


def create_templates(server: bench.Server, bodies: list[dict]) -> None:
    """POST /templates for each body, THREADS at a time, each thread on a connection of its own;
    again on a connection the server closed meanwhile (on a loaded machine, the lab shared):
    then a 409 says the first one made it."""
    local = threading.local()

    def one(body: dict) -> None:
        if not hasattr(local, "session"):
            local.session = requests.Session()
        for attempt in range(3):
            try:
                answer = local.session.post(
                    f"{server.url}/templates", json=body, headers=bench.HEADERS, timeout=60
                )
            except requests.ConnectionError:
                if attempt == 2:
                    raise
                continue
            if answer.status_code == 201 or (attempt > 0 and answer.status_code == 409):
                return
            raise SystemExit(f"bench: POST /templates answered {answer.status_code}: {answer.text}")

    with ThreadPoolExecutor(THREADS) as pool:
        list(pool.map(one, bodies))


def template(name: str, schedule: dict | None = None) -> dict:
    body = {"name": name, "image": bench.IMAGE, **QUICK}
    return body if schedule is None else {**body, "schedule": schedule}


# -- firing precision -----------------------------------------------------------------------


def firing_figure() -> dict:
    """SCHEDULED templates made together at least 15 s before a minute boundary, so every one
    has a tick at each of the next BOUNDARIES boundaries; then their runs, each fired tick's
    delay to its job's CreatedAt (the service's, which /status gives)."""
    server, data_dir = start(REAPER_INTERVAL="1")
    try:
        if seconds_into_minute() > 45:  # too near the boundary: from 15 s into the next minute
            time.sleep(75 - seconds_into_minute())
        create_templates(
            server, [template(f"every-minute-{n}", EVERY_MINUTE) for n in range(SCHEDULED)]
        )
        first = next_boundary(time.time())
        boundaries = [first + 60 * n for n in range(BOUNDARIES)]
        time.sleep(max(0.0, boundaries[-1] + 20 - time.time()))  # the last ones fired
        pause_all(server, SCHEDULED)
        by_tick, outcomes = tick_delays(server, boundaries)
    finally:
        server.stop()
        shutil.rmtree(data_dir, ignore_errors=True)
    remove_jobs()
    raw = raw_creates()
    delays = [delay for ticks in by_tick.values() for delay in ticks]
    median = statistics.median(delays)
    return {
        "name": f"firing precision, {SCHEDULED} templates every minute, {BOUNDARIES} boundaries",
        "ticks_timed": len(delays),
        "outcomes": outcomes,
        "delay_median_s": round(median, 3),
        "delay_p95_s": round(bench.p95(delays), 3),
        "delay_max_s": round(max(delays), 3),
        # Each boundary's first job (how late the scheduler woke) and last (how long its 100
        # starts took, FIRING_THREADS at a time).
        "first_job_per_boundary_s": [round(min(by_tick[tick]), 3) for tick in sorted(by_tick)],
        "last_job_per_boundary_s": [round(max(by_tick[tick]), 3) for tick in sorted(by_tick)],
        "raw": f"raw: {SCHEDULED} services/create from {SCHEDULED} threads at once",
        **raw,
        "target": bench.verdict("p50 <= 1 s", median <= 1.0),
    }


def seconds_into_minute() -> float:
    return time.time() % 60


def next_boundary(now: float) -> float:
    return (now // 60 + 1) * 60


def pause_all(server: bench.Server, count: int) -> None:
    session = requests.Session()
    for n in range(count):
        answer = session.patch(
            f"{server.url}/templates/every-minute-{n}",
            json={"schedule": {"paused": True}},
            headers=bench.HEADERS,
            timeout=60,
        )
        if answer.status_code != 200:
            raise SystemExit(
                f"bench: PATCH /templates answered {answer.status_code}: {answer.text}"
            )


def tick_delays(
    server: bench.Server, boundaries: list[float]
) -> tuple[dict[int, list[float]], dict]:
    """Each boundary's tick of each template: its outcome, and when fired, the delay from the
    tick to its job's CreatedAt in seconds."""
    session = requests.Session()
    wanted = {round(b * 10**9) for b in boundaries}
    delays: dict[int, list[float]] = {}
    outcomes: dict[str, int] = {}
    for n in range(SCHEDULED):
        runs = session.get(
            f"{server.url}/templates/every-minute-{n}/runs?limit=50",
            headers=bench.HEADERS,
            timeout=60,
        ).json()["runs"]
        for run in runs:
            tick = nanos_of(run["tick"])
            if tick not in wanted:
                continue
            outcomes[run["outcome"]] = outcomes.get(run["outcome"], 0) + 1
            if run["outcome"] != "fired":
                continue
            status = session.get(
                f"{server.url}/status/{run['job_id']}", headers=bench.HEADERS, timeout=60
            ).json()
            delays.setdefault(tick, []).append((nanos_of(status["created_at"]) - tick) / 1e9)
    if not delays:
        raise SystemExit(f"bench: no tick fired at the boundaries timed ({outcomes})")
    return delays, outcomes


def raw_creates() -> dict:
    """SCHEDULED services as quartermaster makes those jobs (its spec, its deployment's label),
    created from as many threads at once: each create's own latency, and all of them."""
    docker = engine(SCHEDULED)
    spec = service_spec(
        JobSpec(image=bench.IMAGE, command=("true",), memory_mb=QUICK["memory"]), None, DEPLOYMENT
    )
    docker.services(filters={"label": job_labels.job_filter(DEPLOYMENT)})  # connected

    def one(n: int) -> float:
        return bench.timed(lambda: docker.create_service({**spec, "Name": f"{DEPLOYMENT}-raw-{n}"}))

    started = time.perf_counter()
    with ThreadPoolExecutor(SCHEDULED) as pool:
        latencies = list(pool.map(one, range(SCHEDULED)))
    total = time.perf_counter() - started
    remove_jobs()
    return {
        "raw_create_median_s": round(statistics.median(latencies), 3),
        "raw_create_p95_s": round(bench.p95(latencies), 3),
        "raw_all_created_in_s": round(total, 3),
    }


# -- idle CPU --------------------------------------------------------------------------------


def idle_figure() -> dict:
    """The instance's CPU over bench.IDLE_SECONDS with no template, then with IDLE_TEMPLATES
    paused and IDLE_TEMPLATES active ones not due; REAPER_INTERVAL as deployed (its default)."""
    server, data_dir = start()
    try:
        time.sleep(SETTLE_SECONDS)
        baseline = instance_percent(server)
        started = time.monotonic()
        paused = {**NOT_DUE, "paused": True}
        bodies = [template(f"paused-{n}", paused) for n in range(IDLE_TEMPLATES)]
        bodies += [template(f"not-due-{n}", NOT_DUE) for n in range(IDLE_TEMPLATES)]
        create_templates(server, bodies)
        made_in = time.monotonic() - started
        time.sleep(SETTLE_SECONDS)
        with_templates = instance_percent(server)
    finally:
        server.stop()
        shutil.rmtree(data_dir, ignore_errors=True)
    return {
        "name": (
            f"idle CPU, {IDLE_TEMPLATES:,} paused and {IDLE_TEMPLATES:,} active templates not due,"
            f" over {bench.IDLE_SECONDS} s"
        ),
        "instance_percent_of_a_core": with_templates,
        "no_template_percent_of_a_core": baseline,
        "templates_made_in_s": round(made_in, 1),
        "target": bench.verdict("< 2%", with_templates < 2),
    }


def instance_percent(server: bench.Server) -> float:
    """The CPU of the instance's every process (the master, its workers, its background
    process) over bench.IDLE_SECONDS, in % of one core."""
    seconds = bench.IDLE_SECONDS
    processes = [server.process.pid, *bench.descendants_of(server.process.pid)]
    before = bench.cpu_seconds(processes)
    time.sleep(seconds)
    return round(100 * (bench.cpu_seconds(processes) - before) / seconds, 2)


# -- dispatch against /run -------------------------------------------------------------------


def dispatch_figure() -> dict:
    """POST /templates/quick/dispatch against POST /run with the template's fields, alternating,
    ROUNDS each (after bench.WARM_UP rounds): the same job, over at once."""
    server, data_dir = start()
    try:
        create_templates(server, [template("quick")])
        session = requests.Session()
        dispatched: list[float] = []
        ran: list[float] = []
        for round_number in range(bench.WARM_UP + ROUNDS):
            if round_number == bench.WARM_UP:
                dispatched.clear()
                ran.clear()
            dispatched.append(
                bench.timed(lambda: post(session, f"{server.url}/templates/quick/dispatch", {}))
            )
            ran.append(
                bench.timed(
                    lambda: post(session, f"{server.url}/run", {"image": bench.IMAGE, **QUICK})
                )
            )
    finally:
        server.stop()
        shutil.rmtree(data_dir, ignore_errors=True)
    remove_jobs()
    ratio = statistics.median(dispatched) / statistics.median(ran)
    return {
        "name": "POST /templates/:name/dispatch against POST /run of the same job",
        "run_median_ms": bench.ms(statistics.median(ran)),
        "run_p95_ms": bench.ms(bench.p95(ran)),
        "dispatch_median_ms": bench.ms(statistics.median(dispatched)),
        "dispatch_p95_ms": bench.ms(bench.p95(dispatched)),
        "ratio": round(ratio, 2),
        "target": bench.verdict("<= 1.2x", ratio <= 1.2),
    }


def post(session: requests.Session, url: str, body: dict) -> str:
    answer = session.post(url, json=body, headers=bench.HEADERS, timeout=60)
    if answer.status_code != 200:
        raise SystemExit(f"bench: {url} answered {answer.status_code}: {answer.text}")
    return answer.json()["id"]


# -- the rest --------------------------------------------------------------------------------


def remove_jobs() -> None:
    bench.remove_deployment_jobs(engine(), DEPLOYMENT, THREADS)


def pytest_processes() -> list[str]:
    """The pytest runs on this machine meanwhile (the lab is shared): their command lines."""
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            words = cmdline.read_bytes().decode(errors="replace").split("\0")
        except OSError:
            continue
        # pytest itself (`pytest ...`, `python -m pytest ...`), not a wrapper such as timeout
        if any(word == "pytest" or word.endswith("/pytest") for word in words[1:3]):
            found.append(" ".join(words).strip())
    return sorted(set(found))


if __name__ == "__main__":
    os.environ.setdefault("DOCKER_HOST", bench.MANAGER)
    main()
