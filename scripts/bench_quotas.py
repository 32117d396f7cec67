"""`make bench`, the quotas' part: quartermaster as deployed (loopback only), its jobs of tenants
with quotas, each figure against the same request or the same moment without a queue:

- /run of a job that is queued (its tenant's quota full) against /run of one admitted at once
  (its tenant's quota wide), alternating, ROUNDS each;
- the admission latency with REAPER_INTERVAL=1: from a live job's end (its task's) to the next
  queued job's admission (its service's update that gives it its run), over a chain of short jobs;
- GET /status of a live job with QUEUED jobs queued (across TEAMS tenants) against with none,
  and the two raw Engine API calls behind it, alternating with it, in both;
- the idle CPU of the instance (its gunicorn processes and its background process) and of the
  manager's dockerd with those QUEUED jobs queued that cannot be admitted, over one full round's
  period.

Prints the figures and writes them to bench-quotas-results.json. Needs the lab (`make lab`).
"""

import itertools
import json
import os
import secrets
import shutil
import statistics
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import bench
import docker
import requests

from quartermaster.client import Client
from quartermaster.jobs.times import nanos_of
from quartermaster.reaper.reaper import FULL_ROUND_SECONDS
from quartermaster.swarm.docker_connection import DockerConnection

RESULTS = Path("bench-quotas-results.json")
DEPLOYMENT = "qm-bench-quotas"
ROUNDS = 100
QUEUED = 10_000
TEAMS = 10
CHAIN = 21  # short jobs one after another: CHAIN - 1 admissions timed
THREADS = 16
# A job live for the whole bench: placed and running. (With tenants defined, one no node could
# take is refused at /run.) Queued behind a full quota, it is never admitted.
PARKED = {"memory": 6, "command": ["sleep", "86400"]}
QUICK = {"memory": 6, "command": ["true"]}  # admitted at once, over at once


def main() -> None:
    results = {"machine": bench.machine(), "date": time.strftime("%Y-%m-%d"), "figures": []}
    api = docker.APIClient(base_url=bench.MANAGER)
    try:
        results["figures"].append(admission_latency_figure())
        remove_jobs(api)
        results["figures"] += queue_figures()
    finally:
        remove_jobs(api)
    bench.print_figures(results)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    print(f"\nwritten to {RESULTS}")


def start(**settings: str) -> tuple[bench.Server, str]:
    return bench.start_deployment(DEPLOYMENT, **settings)


def tenant_key(operator: Client, name: str, **quota: int) -> str:
    operator.create_tenant(name, quota=quota)
    return operator.create_key(name, "bench", ["read", "run", "stop"]).secret


def run(session: requests.Session, url: str, key: str, retried: bool = False, **body) -> str:
    """/run; `retried`: again on a connection the server closed meanwhile (an idle keep-alive
    it timed out), with an Idempotency-Key, so that a retry is the same job."""
    headers = {"Authorization": f"Bearer {key}"}
    if retried:
        headers["Idempotency-Key"] = secrets.token_hex(16)
    for attempt in range(3 if retried else 1):
        try:
            answer = session.post(
                f"{url}/run", json={"image": bench.IMAGE, **body}, headers=headers, timeout=60
            )
            break
        except requests.ConnectionError:
            if not retried or attempt == 2:
                raise
    if answer.status_code != 200:
        raise SystemExit(f"bench: /run answered {answer.status_code}: {answer.text}")
    return answer.json()["id"]


def admission_latency_figure() -> dict:
    """A tenant with one live job at a time runs CHAIN short jobs at once: each next one is
    admitted when the one before ends. Latency: its service's update (the release) after the
    end of the task before it."""
    server, data_dir = start(REAPER_INTERVAL="1")
    try:
        with Client(server.url, token=bench.TOKEN) as operator:
            key = tenant_key(operator, "bench-chain", jobs=1)
        session = requests.Session()
        job_ids = [
            run(session, server.url, key, command=["sleep", "1"], memory=6) for _ in range(CHAIN)
        ]
        api = docker.APIClient(base_url=bench.MANAGER)
        deadline = time.monotonic() + 60 + 10 * CHAIN
        while not all(ended(api, job_id) for job_id in job_ids):
            if time.monotonic() > deadline:
                raise SystemExit("bench: the chain of queued jobs did not run through")
            time.sleep(1)
        latencies = []
        for before, after in itertools.pairwise(job_ids):
            end = nanos_of(task_of(api, before)["Status"]["Timestamp"])
            released = nanos_of(api.inspect_service(after)["UpdatedAt"])
            latencies.append((released - end) / 1e9)
    finally:
        server.stop()
        shutil.rmtree(data_dir, ignore_errors=True)
    median = statistics.median(latencies)
    return {
        "name": f"admission latency, REAPER_INTERVAL=1 ({CHAIN - 1} admissions)",
        "median_s": round(median, 3),
        "p95_s": round(bench.p95(latencies), 3),
        "target": bench.verdict("p50 <= 1 s", median <= 1.0),
    }


def task_of(api, job_id: str) -> dict:
    [task] = api.tasks(filters={"service": job_id})
    return task


def ended(api, job_id: str) -> bool:
    tasks = api.tasks(filters={"service": job_id})
    return bool(tasks) and tasks[0]["Status"]["State"] == "complete"


def queue_figures() -> list[dict]:
    server, data_dir = start()
    try:
        with Client(server.url, token=bench.TOKEN) as operator:
            wide = tenant_key(operator, "bench-wide", jobs=1_000_000)
            keys = [
                tenant_key(operator, f"bench-q{n}", jobs=1, queued=QUEUED) for n in range(TEAMS)
            ]
        session = requests.Session()
        for key in keys:  # each tenant's one live job: what follows waits
            run(session, server.url, key, **PARKED)
        figures = [run_figure(server, session, wide, keys[0])]
        live = run(session, server.url, bench.TOKEN, **PARKED)
        time.sleep(15)  # the reaper's rounds after the jobs just run (recorded, removed): settled
        no_queue, raw_no_queue = status_times(server, session, live)
        started = time.monotonic()
        fill_queues(server, keys)
        filled_in = time.monotonic() - started
        time.sleep(15)  # the reaper's rounds after the last one: settled
        with_queue, raw_with_queue = status_times(server, session, live)
        ratio = statistics.median(with_queue) / statistics.median(no_queue)
        raw_ratio = statistics.median(raw_with_queue) / statistics.median(raw_no_queue)
        figures.append(
            {
                "name": f"GET /status of a live job, {QUEUED:,} jobs queued against none",
                "none_median_ms": bench.ms(statistics.median(no_queue)),
                "queued_median_ms": bench.ms(statistics.median(with_queue)),
                "queued_p95_ms": bench.ms(bench.p95(with_queue)),
                "ratio": round(ratio, 2),
                "raw_calls_none_median_ms": bench.ms(statistics.median(raw_no_queue)),
                "raw_calls_queued_median_ms": bench.ms(statistics.median(raw_with_queue)),
                "raw_calls_ratio": round(raw_ratio, 2),
                "queued_in_s": round(filled_in, 1),
                "target": bench.verdict("<= 1.1x", ratio <= 1.1),
            }
        )
        figures.append(idle_figure(server))
        return figures
    finally:
        server.stop()
        shutil.rmtree(data_dir, ignore_errors=True)


def run_figure(server, session: requests.Session, wide: str, full: str) -> dict:
    """/run admitted at once (a wide quota: the job is made held, admitted, released) against
    /run queued (a full quota: made held, recorded waiting), alternating."""
    at_once, queued = [], []
    for round_number in range(bench.WARM_UP + ROUNDS):
        if round_number == bench.WARM_UP:
            at_once.clear()
            queued.clear()
        at_once.append(bench.timed(lambda: run(session, server.url, wide, **QUICK)))
        queued.append(bench.timed(lambda: run(session, server.url, full, **PARKED)))
    ratio = statistics.median(queued) / statistics.median(at_once)
    return {
        "name": "POST /run of a job queued against one admitted at once",
        "at_once_median_ms": bench.ms(statistics.median(at_once)),
        "queued_median_ms": bench.ms(statistics.median(queued)),
        "queued_p95_ms": bench.ms(bench.p95(queued)),
        "ratio": round(ratio, 2),
        "target": bench.verdict("<= 1.2x", ratio <= 1.2),
    }


def status_times(server, session: requests.Session, job_id: str) -> tuple[list[float], list[float]]:
    """/status of the job, alternating with the two Engine API calls behind it made raw (its
    service by id, its tasks): what the swarm's own share of it is, at the same moment."""
    url = f"{server.url}/status/{job_id}"
    engine = DockerConnection(bench.MANAGER, timeout=30).engine
    ours, raw = [], []
    for _ in range(200):
        ours.append(bench.timed(lambda: session.get(url, headers=bench.HEADERS)))
        raw.append(
            bench.timed(
                lambda: (engine.inspect_service(job_id), engine.tasks(filters={"service": job_id}))
            )
        )
    return ours[bench.WARM_UP :], raw[bench.WARM_UP :]


def fill_queues(server, keys: list[str]) -> None:
    """QUEUED jobs queued, spread over the tenants, THREADS /run at a time."""
    sessions = [requests.Session() for _ in range(THREADS)]

    def one(index: int) -> str:
        session = sessions[index % THREADS]
        return run(session, server.url, keys[index % len(keys)], retried=True, **PARKED)

    with ThreadPoolExecutor(THREADS) as pool:
        list(pool.map(one, range(QUEUED - (ROUNDS + bench.WARM_UP))))


def idle_figure(server) -> dict:
    """The instance's CPU (its gunicorn master and workers, its background process) and the
    manager's dockerd's, with the queues full and nothing to admit, over FULL_ROUND_SECONDS: the
    reaper's full round (every job read, the queues looked at: about 0.6 s of its CPU with
    10,000 jobs) falls in any window that long exactly once, so this is the lasting average. (A
    minute held one full round or none: 1.3-2.1% of a core or 0.3%.)"""
    seconds = FULL_ROUND_SECONDS
    instance = [server.process.pid, *bench.children_of(server.process.pid)]
    dockerd = bench.dockerd_pid()
    before = bench.cpu_seconds(instance), bench.cpu_seconds([dockerd])
    time.sleep(seconds)
    spent_instance = bench.cpu_seconds(instance) - before[0]
    spent_dockerd = bench.cpu_seconds([dockerd]) - before[1]
    instance_percent = round(100 * spent_instance / seconds, 2)
    return {
        "name": f"idle CPU, {QUEUED:,} jobs queued that cannot be admitted, over {seconds} s",
        "instance_percent_of_a_core": instance_percent,
        "dockerd_percent_of_a_core": round(100 * spent_dockerd / seconds, 2),
        "target": bench.verdict("instance < 2%", instance_percent < 2),
    }


def remove_jobs(api) -> None:
    bench.remove_deployment_jobs(api, DEPLOYMENT, THREADS)


if __name__ == "__main__":
    os.environ.setdefault("DOCKER_HOST", bench.MANAGER)
    main()
