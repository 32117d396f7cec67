"""`make bench`, the record store's part: quartermaster with 100,000 finished jobs in its store, on
SQLite and on the lab's PostgreSQL, against the store itself doing the same work, in one run.

Each store is seeded directly (SQLAlchemy Core, in batches): a week of finished jobs whose services
are gone, each with 3 labels, 3 transitions and a short kept log. The `quartermaster` command then
runs on it as deployed (loopback only), and the bench measures:

- GET /jobs?limit=100 (no filter, then each filter: statuses, labels, name prefixes, alone and
  together, the rare ones included) with 1,000 and with 100,000 records: two
  servers on two stores, asked in turn round by round, each request followed by the store's own
  page query (RecordStore.page, in this process) for the same page: the baseline;
- GET /status and /logs?tail=100 of an archived job against those of a live one, in turn;
- the CPU the idle reaper and the manager's dockerd use, with an empty store and with 100,000
  records (and PostgreSQL's own processes, where it is the store);
- N short jobs (default 2,000) run to completion with KEEP_FINISHED=5 and REAPER_INTERVAL=1: the
  job services the swarm holds against the jobs that ended within the last KEEP_FINISHED.

Prints the figures and writes them to bench-store-results.json. Needs the lab (`make lab`).
`--figures jobs --jobs 0` measures /jobs alone (and neither starts nor removes a job).
One script of ~730 lines, as `make bench` runs it: each figure's seeding, its measurement and
its baseline side by side.
"""

import argparse
import contextlib
import json
import os
import random
import secrets
import statistics
import string
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import bench
import docker
import psycopg
import requests
import sqlalchemy as sa
from psycopg import sql

from quartermaster.client import Client
from quartermaster.jobs.history import recorded_request
from quartermaster.jobs.query import JobQuery
from quartermaster.jobs.spec import JobSpec
from quartermaster.jobs.times import NANO, timestamp_of
from quartermaster.store import RecordStore, migrate
from quartermaster.store.engine import make_engine, writer
from quartermaster.store.schema import job_labels, job_log_chunks, job_transitions, jobs, tenants

SMALL, LARGE = 1_000, 100_000
ROUNDS = 200
WARM_UP = 30
BATCH = 5_000  # jobs per seeding transaction
DAY = 24 * 3600
TTL = 7 * DAY  # HISTORY_TTL's default
# Every tenth job is in team t3 (its label, and its tenant), and every tenth failed (a filter fills
# a page with 1,000 records).
TEAMS = 10
PRINTED_LINES = 200  # the compared jobs' logs, live and archived: /logs?tail=100 takes half
LIVE_COMMAND = f"sh -c 'for i in $(seq {PRINTED_LINES}); do echo line $i; done; sleep 600'"
IDLE_SECONDS = 30
CHURN_KEEP_FINISHED = 5
CHURN_REAPER_INTERVAL = 1.0
CHURN_CLIENTS = 16
LAB_FACTS = Path("/var/lib/qm-lab/lab.json")
DOCKERD_PID = Path("/var/run/docker.pid")
RESULTS = Path("bench-store-results.json")
OWN_SETTINGS = ("DATABASE_URL", "DATABASE_URL_FILE", "DATA_DIR", "REAPER_INTERVAL", "KEEP_FINISHED",
                "HISTORY_TTL", "TTL")  # fmt: skip
FIGURES = ("jobs", "archived", "tenants", "idle", "churn")
# The windows of a tenant's usage measured (the seeded history spans a week).
USAGE_WINDOWS = {"day": 86400, "week": 7 * 86400}


@dataclass(frozen=True)
class JobsCase:
    query: JobQuery
    full: bool = True  # a full page with 1,000 records as with 100,000 (else: a rare filter)


# The dashboard polls these every 2 s: each filter alone, the rare ones included (which match
# few jobs or none, so a page of them is asked of the whole history), and some together.
JOBS_CASES = {
    "": JobsCase(JobQuery()),
    "&label=team=t3": JobsCase(JobQuery(labels={"team": "t3"})),
    "&tenant=t3": JobsCase(JobQuery(tenant="t3")),
    "&status=failed": JobsCase(JobQuery(statuses=("failed",))),
    "&status=lost": JobsCase(JobQuery(statuses=("lost",)), full=False),
    "&status=pending": JobsCase(JobQuery(statuses=("pending",)), full=False),
    "&status=failed&status=shutdown": JobsCase(JobQuery(statuses=("failed", "shutdown"))),
    "&name=job-": JobsCase(JobQuery(name="job-")),
    "&name=job-a": JobsCase(JobQuery(name="job-a"), full=False),
    "&name=job-ab": JobsCase(JobQuery(name="job-ab"), full=False),
    "&label=team=t3&label=env=prod": JobsCase(
        JobQuery(labels={"team": "t3", "env": "prod"}), full=False
    ),
    "&label=env=prod&label=batch=b7": JobsCase(
        JobQuery(labels={"env": "prod", "batch": "b7"}), full=False
    ),
    "&status=failed&label=team=t7": JobsCase(JobQuery(statuses=("failed",), labels={"team": "t7"})),
    "&status=complete&name=job-a": JobsCase(
        JobQuery(statuses=("complete",), name="job-a"), full=False
    ),
}


def main() -> None:
    arguments = parse_arguments()
    for name in OWN_SETTINGS:  # the servers get these from the bench, or run on their defaults
        os.environ.pop(name, None)
    started = time.monotonic()
    results = {
        "machine": bench.machine(),
        "date": time.strftime("%Y-%m-%d"),
        "figures": [],
    }
    api = docker.APIClient(base_url="unix:///var/run/docker.sock", version="auto", timeout=60)
    api.trust_env = False
    try:
        for kind in arguments.stores:
            results["figures"] += store_figures(kind, api, arguments)
    finally:
        if {"archived", "churn"} & set(arguments.figures):
            remove_job_services(api)
    results["seconds"] = round(time.monotonic() - started)
    print_table(results)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    print(f"\nwritten to {RESULTS}")


def parse_arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--stores",
        type=lambda text: text.split(","),
        default=["sqlite", "postgresql"],
        help="which stores, comma-separated (default sqlite,postgresql)",
    )
    parser.add_argument(
        "--jobs", type=int, default=2000, help="short jobs run to completion (0: none)"
    )
    parser.add_argument("--idle-seconds", type=float, default=IDLE_SECONDS)
    parser.add_argument(
        "--figures",
        type=lambda text: text.split(","),
        default=list(FIGURES),
        help=f"which figures, comma-separated (default {','.join(FIGURES)}); only jobs and "
        "archived start no job, and only they leave the swarm's other jobs alone",
    )
    arguments = parser.parse_args()
    unknown = set(arguments.figures) - set(FIGURES)
    if unknown:
        parser.error(f"no such figures: {', '.join(sorted(unknown))}")
    return arguments


def store_figures(kind: str, api, arguments: argparse.Namespace) -> list[dict]:
    figures = []
    with new_store(kind) as small, new_store(kind) as large, new_store(kind) as empty:
        seeding = {}
        for url, count in ((small, SMALL), (large, LARGE)):
            began = time.monotonic()
            archived_id = seed(url, count)
            seeding[count] = round(time.monotonic() - began, 1)
        figures.append({"name": f"seeding ({kind})", "seconds_by_records": seeding})
        servers = [start_quartermaster(url, reaper_interval=0) for url in (small, large)]
        stores = [RecordStore(url) for url in (small, large)]
        try:
            if "jobs" in arguments.figures:
                for path, case in JOBS_CASES.items():
                    figures.append(jobs_figure(kind, path, case, servers, stores))
            if "archived" in arguments.figures:
                figures.append(
                    archived_against_live_figure(kind, servers[1], stores[1], archived_id)
                )
            if "tenants" in arguments.figures:
                figures += tenant_figures(kind, servers[1], archived_id)
        finally:
            for server in servers:
                server.stop()
            for store in stores:
                store.close()
            if "archived" in arguments.figures:
                remove_job_services(api)
        if "idle" in arguments.figures:
            figures.append(idle_cpu_figure(kind, empty, large, arguments.idle_seconds))
        if arguments.jobs and "churn" in arguments.figures:
            figures.append(churn_figure(kind, large, api, arguments.jobs))
    return figures


# -- stores and their seed -------------------------------------------------------------------


@contextlib.contextmanager
def new_store(kind: str) -> Iterator[str]:
    """A new empty database for the block: its SQLAlchemy URL; removed after it."""
    if kind == "sqlite":
        with tempfile.TemporaryDirectory(prefix="qm-bench-store-") as directory:
            yield f"sqlite:///{directory}/quartermaster.db"
        return
    if kind != "postgresql":
        raise SystemExit(f"bench: no store {kind!r} (sqlite or postgresql)")
    facts = json.loads(LAB_FACTS.read_text())["postgres"]
    name = f"qm_bench_{os.getpid()}_{secrets.token_hex(4)}"
    with postgres_admin(facts) as admin:
        admin.execute(
            sql.SQL("CREATE DATABASE {} OWNER {}").format(
                sql.Identifier(name), sql.Identifier(facts["user"])
            )
        )
    credentials = f"{quote(facts['user'], safe='')}:{quote(facts['password'], safe='')}"
    try:
        yield f"postgresql+psycopg://{credentials}@127.0.0.1:{facts['port']}/{name}"
    finally:
        with postgres_admin(facts) as admin:
            admin.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


def postgres_admin(facts: dict) -> psycopg.Connection:
    """The lab cluster's superuser over its socket (trust), in autocommit."""
    return psycopg.connect(
        host=facts["socket_dir"],
        port=facts["port"],
        user=facts["admin_user"],
        dbname="postgres",
        autocommit=True,
        connect_timeout=5,
    )


def seed(url: str, count: int) -> str:
    """`count` finished jobs created over the last week, their services gone (none expires
    within the hour), each of one of TEAMS tenants; the id of the one in the middle, whose log
    is PRINTED_LINES lines."""
    migrate.upgrade(url)
    engine = make_engine(url)
    rng = random.Random(count)  # noqa: S311 - made-up jobs, the same each run
    now = time.time()
    first_at, step = now - TTL + 3600, (TTL - 2 * 3600) / count
    chosen = count // 2
    chosen_id = ""
    try:
        for first in range(0, count, BATCH):
            batch = [
                seeded_job(
                    rng, index, first_at + index * step, PRINTED_LINES if index == chosen else 5
                )
                for index in range(first, min(count, first + BATCH))
            ]
            if first <= chosen < first + BATCH:
                chosen_id = batch[chosen - first].job["id"]
            with writer(engine).begin() as connection:
                connection.execute(jobs.insert(), [job.job for job in batch])
                for table, rows in (
                    (job_labels, [row for job in batch for row in job.labels]),
                    (job_transitions, [row for job in batch for row in job.transitions]),
                    (job_log_chunks, [job.log for job in batch]),
                ):
                    connection.execute(table.insert(), rows)
        with writer(engine).begin() as connection:
            connection.execute(
                tenants.insert(),
                [
                    {"name": f"t{n}", "images": [], "constraints": [], "created_at": 0,
                     "updated_at": 0}
                    for n in range(TEAMS)
                ],
            )  # fmt: skip
        if engine.dialect.name == "postgresql":
            # As autovacuum leaves a table after such inserts (PostgreSQL 13 and later vacuum
            # on inserts too): its statistics, and its visibility map, without which no scan
            # reads an index alone.
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
                connection.exec_driver_sql("VACUUM ANALYZE")
    finally:
        engine.dispose()
    return chosen_id


@dataclass
class SeededJob:
    job: dict
    labels: list[dict]
    transitions: list[dict]
    log: dict


def seeded_job(rng: random.Random, index: int, created: float, lines: int) -> SeededJob:
    """A job as the reaper leaves it once its service is gone: final record, timeline, log."""
    job_id = "".join(rng.choices(string.ascii_lowercase + string.digits, k=25))
    name = f"job-{rng.getrandbits(64):016x}"
    labels = {
        "team": f"t{index % TEAMS}",
        "env": rng.choice(("prod", "staging", "dev")),
        "batch": f"b{rng.randrange(1000)}",
    }
    request = recorded_request(
        JobSpec(
            image=bench.IMAGE,
            command=("sh", "-c", "./run-report --since yesterday"),
            name=name,
            labels=labels,
            env={"REPORT_BUCKET": "reports"},
            memory_mb=64,
        ),
        env_values=False,
    )
    status = outcome(index)
    created_at = int(created * NANO) + rng.randrange(NANO)
    started_at = created_at + rng.randrange(NANO // 5, 2 * NANO)
    finished_at = started_at + rng.randrange(NANO // 10, 60 * NANO)
    removed_at = finished_at + 60 * NANO  # KEEP_FINISHED's default
    log_lines = [
        f"{timestamp_of(started_at + i * 1000)} line {i + 1}\n".encode() for i in range(lines)
    ]
    data = b"".join(log_lines)
    job = {
        "id": job_id,
        "name": name,
        "image": bench.IMAGE,
        "type": "service",
        "request": request,
        "idempotency_key": None,
        "request_hash": None,
        "status": status,
        "state": status,
        "exit_code": {"complete": 0, "failed": 1}.get(status),
        "error": "task: non-zero exit (1)" if status == "failed" else None,
        "node_id": f"node{rng.randrange(2)}" + "x" * 21,
        "node_hostname": f"lab-worker-{rng.randrange(1, 3)}",
        "completions": 1,
        "succeeded": int(status == "complete"),
        "failed": int(status == "failed"),
        "attempts": 1,
        "created_at": created_at,
        "started_at": started_at,
        "finished_at": finished_at,
        "ttl": TTL,
        "expires_at": finished_at + TTL * NANO,
        "service_removed_at": removed_at,
        "updated_at": removed_at,
        "log_captured_at": finished_at + NANO,
        "log_bytes": len(data),
        "log_truncated": False,
        "tenant": labels["team"],  # each team a tenant: ten of them, a tenth of the jobs each
        "memory_mb": 64,  # what it held of its tenant's quota: its usage's MB·s
    }
    timeline = [
        (created_at, "pending", "new", "created"),
        (started_at, "started", "running", None),
        (finished_at, status, status, "stopped by /stop" if status == "shutdown" else None),
    ]
    return SeededJob(
        job=job,
        labels=[
            {"job_id": job_id, "key": key, "value": value, "created_at": created_at}
            for key, value in labels.items()
        ],
        transitions=[
            {"job_id": job_id, "seq": seq, "at": at, "status": s, "state": st, "detail": d}
            for seq, (at, s, st, d) in enumerate(timeline)
        ],
        log={
            "job_id": job_id,
            "seq": 0,
            "stream": 1,
            "first_at": started_at,
            "last_at": started_at + (lines - 1) * 1000,
            "data": data,
        },
    )


def outcome(index: int) -> str:
    """A tenth of the jobs failed, a fiftieth were stopped, the others completed."""
    if index % 10 == 7:
        return "failed"
    return "shutdown" if index % 50 == 8 else "complete"


# -- servers ---------------------------------------------------------------------------------


def start_quartermaster(url: str, reaper_interval: float | None, **settings: str) -> bench.Server:
    """The `quartermaster` command on the store `url`; reaper_interval None: its default."""
    if reaper_interval is not None:
        settings["REAPER_INTERVAL"] = str(reaper_interval)
    quartermaster = str(Path(sys.executable).parent / "quartermaster")
    return bench.start(
        lambda port: [quartermaster, "--port", str(port)], {"DATABASE_URL": url, **settings}
    )


def get(session: requests.Session, url: str) -> requests.Response:
    response = session.get(url, headers=bench.HEADERS, timeout=30)
    response.raise_for_status()
    return response


# -- figures ---------------------------------------------------------------------------------


def jobs_figure(kind: str, path: str, case: JobsCase, servers, stores) -> dict:
    """/jobs?limit=100 on the store with 1,000 records and on the one with 100,000, in turn;
    each request followed by the store's own query for the same page."""
    session = requests.Session()
    url = f"/jobs?limit=100{path}"
    query = case.query
    page_sizes = []
    for server in servers:
        page = get(session, server.url + url).json()
        page_sizes.append(len(page["jobs"]))
        if case.full and len(page["jobs"]) != 100:
            raise SystemExit(f"bench: {url} did not answer a full page: {len(page['jobs'])}")
    ours: list[list[float]] = [[], []]
    raw: list[list[float]] = [[], []]
    for round_number in range(WARM_UP + ROUNDS):
        if round_number == WARM_UP:
            for series in (*ours, *raw):
                series.clear()
        for index, (server, store) in enumerate(zip(servers, stores, strict=True)):
            ours[index].append(bench.timed(lambda server=server: get(session, server.url + url)))
            raw[index].append(bench.timed(lambda store=store: store.page(query)))
    small, large = (statistics.median(series) for series in ours)
    apart = large / small
    result: dict = {"name": f"GET {url} ({kind})"}
    for index, records in enumerate((SMALL, LARGE)):
        result[f"jobs_in_page_{records}"] = page_sizes[index]
        result |= {
            f"quartermaster_median_ms_{records}": bench.ms(statistics.median(ours[index])),
            f"quartermaster_p95_ms_{records}": bench.ms(bench.p95(ours[index])),
            f"raw_median_ms_{records}": bench.ms(statistics.median(raw[index])),
            f"ratio_to_raw_{records}": round(
                statistics.median(ours[index]) / statistics.median(raw[index]), 2
            ),
        }
    result["raw"] = "raw: RecordStore.page of the same query in the bench's process"
    result[f"times_{LARGE}_per_{SMALL}"] = round(apart, 2)
    if case.full:
        result["target"] = bench.verdict(
            f"p50 <= 20 ms with {LARGE:,} records and within 1.2x of {SMALL:,}",
            large <= 0.020 and apart <= 1.2,
        )
    else:  # pages of different sizes: their times are not compared
        result["target"] = bench.verdict(f"p50 <= 20 ms with {LARGE:,} records", large <= 0.020)
    return result


def tenant_figures(kind: str, server, archived_id: str) -> list[dict]:
    """With a tenant's key (read) against the operator's token, in turn, on the store with
    LARGE records of TEAMS tenants: /status of that tenant's archived job (what the key's check
    adds: its row read at most once a second per worker, its secret's hash compared), and
    /jobs?limit=100 of that tenant alone (a tenth of the records)."""
    tenant = f"t{(LARGE // 2) % TEAMS}"  # the archived job's: the middle one's
    with Client(server.url, token=bench.TOKEN) as operator:
        secret = operator.create_key(tenant, f"bench-{os.getpid()}", ["read"]).secret
    session = requests.Session()
    as_key = {"Authorization": f"Bearer {secret}"}
    status_url = f"{server.url}/status/{archived_id}"
    token_times: list[float] = []
    key_times: list[float] = []
    jobs_times: list[float] = []
    now = time.time()
    usage_urls = {
        window: f"{server.url}/tenants/{tenant}/usage?since={now - seconds:.0f}&until={now:.0f}"
        for window, seconds in USAGE_WINDOWS.items()
    }
    usage_times: dict[str, list[float]] = {window: [] for window in USAGE_WINDOWS}
    for round_number in range(WARM_UP + ROUNDS):
        if round_number == WARM_UP:
            for series in (token_times, key_times, jobs_times, *usage_times.values()):
                series.clear()
        token_times.append(bench.timed(lambda: get(session, status_url)))
        key_times.append(bench.timed(lambda: get_as(session, status_url, as_key)))
        jobs_times.append(
            bench.timed(lambda: get_as(session, f"{server.url}/jobs?limit=100", as_key))
        )
        for window, url in usage_urls.items():
            usage_times[window].append(bench.timed(lambda url=url: get_as(session, url, as_key)))
    week = get_as(session, usage_urls["week"], as_key).json()
    if sum(week["jobs"].values()) < LARGE // TEAMS // 2 or week["memory_mb_seconds"] <= 0:
        raise SystemExit(f"bench: a tenant's usage of the week counted too little: {week}")
    page = get_as(session, f"{server.url}/jobs?limit=100", as_key).json()["jobs"]
    if len(page) != 100 or {job["tenant"] for job in page} != {tenant}:
        raise SystemExit("bench: a tenant's /jobs did not answer a full page of its own jobs")
    added = statistics.median(key_times) - statistics.median(token_times)
    jobs_median = statistics.median(jobs_times)
    return [
        {
            "name": f"GET /status of an archived job, a tenant's key against TOKEN ({kind})",
            "token_median_ms": bench.ms(statistics.median(token_times)),
            "key_median_ms": bench.ms(statistics.median(key_times)),
            "key_p95_ms": bench.ms(bench.p95(key_times)),
            "key_check_ms": bench.ms(added),
            "target": bench.verdict("the key's check <= 0.2 ms at p50", added <= 0.0002),
        },
        {
            "name": f"GET /jobs?limit=100 with a tenant's key, 1 tenant of {TEAMS} ({kind})",
            f"median_ms_{LARGE}": bench.ms(jobs_median),
            f"p95_ms_{LARGE}": bench.ms(bench.p95(jobs_times)),
            "target": bench.verdict(f"p50 <= 20 ms with {LARGE:,} records", jobs_median <= 0.020),
        },
        *(
            {
                "name": f"GET /tenants/:name/usage of a {window}, 1 tenant of {TEAMS} ({kind})",
                f"median_ms_{LARGE}": bench.ms(statistics.median(times)),
                f"p95_ms_{LARGE}": bench.ms(bench.p95(times)),
                "target": bench.verdict(
                    f"p50 <= 50 ms with {LARGE:,} records", statistics.median(times) <= 0.050
                ),
            }
            for window, times in usage_times.items()
        ),
    ]


def get_as(session: requests.Session, url: str, headers: dict) -> requests.Response:
    response = session.get(url, headers=headers, timeout=30)
    response.raise_for_status()
    return response


def archived_against_live_figure(kind: str, server, store: RecordStore, archived_id: str) -> dict:
    """/status and /logs?tail=100 of an archived job (seeded) against a live one (printed as many
    lines, then sleeps), in turn; with the raw calls each answer needs, for scale."""
    session = requests.Session()
    live_id = requests.post(
        f"{server.url}/run",
        json={"image": bench.IMAGE, "command": LIVE_COMMAND, "memory": 8},
        headers=bench.HEADERS,
        timeout=10,
    ).json()["id"]
    deadline = time.monotonic() + 60
    while (
        f"line {PRINTED_LINES}".encode() not in get(session, f"{server.url}/logs/{live_id}").content
    ):
        if time.monotonic() > deadline:
            raise SystemExit("bench: the live job printed nothing within a minute")
        time.sleep(0.5)
    for job_id in (live_id, archived_id):
        lines = get(session, f"{server.url}/logs/{job_id}?tail=100").content.count(b"\n")
        if lines != 100:
            raise SystemExit(f"bench: /logs/{job_id}?tail=100 gave {lines} lines")
    api = docker.APIClient(base_url="unix:///var/run/docker.sock", version="auto", timeout=60)
    api.trust_env = False
    series: dict[str, list[float]] = {
        name: []
        for name in (
            "status_live",
            "status_archived",
            "logs_live",
            "logs_archived",
            "raw_status_live",
            "raw_status_archived",
            "raw_logs_live",
            "raw_logs_archived",
            "raw_swarm_no_such_service",
        )
    }
    calls = {
        "status_live": lambda: get(session, f"{server.url}/status/{live_id}"),
        "status_archived": lambda: get(session, f"{server.url}/status/{archived_id}"),
        "logs_live": lambda: get(session, f"{server.url}/logs/{live_id}?tail=100"),
        "logs_archived": lambda: get(session, f"{server.url}/logs/{archived_id}?tail=100"),
        "raw_status_live": lambda: (
            api.inspect_service(live_id),
            api.tasks(filters={"service": live_id}),
        ),
        "raw_status_archived": lambda: store.status(archived_id),
        "raw_logs_live": lambda: b"".join(
            api.service_logs(live_id, stdout=True, stderr=True, tail=100)
        ),
        "raw_logs_archived": lambda: store.kept_log(archived_id),
        "raw_swarm_no_such_service": lambda: no_such_service(api, archived_id),
    }
    for round_number in range(WARM_UP + ROUNDS):
        if round_number == WARM_UP:
            for values in series.values():
                values.clear()
        for name, call in calls.items():
            series[name].append(bench.timed(call))
    requests.post(
        f"{server.url}/stop", json={"id": live_id}, headers=bench.HEADERS, timeout=30
    ).raise_for_status()
    median = {name: statistics.median(values) for name, values in series.items()}
    result = {"name": f"GET /status and /logs?tail=100, archived against live ({kind})"}
    for name, values in series.items():
        result[f"{name}_median_ms"] = bench.ms(median[name])
        if not name.startswith("raw_"):
            result[f"{name}_p95_ms"] = bench.ms(bench.p95(values))
    ratios = {
        what: round(median[f"{what}_archived"] / median[f"{what}_live"], 2)
        for what in ("status", "logs")
    }
    result |= {f"{what}_archived_per_live": ratio for what, ratio in ratios.items()}
    result["raw"] = (
        "raw, live: service inspect + its tasks, service logs tail=100 (docker-py); "
        "archived: RecordStore.status (logs: RecordStore.kept_log) in the bench's process; "
        "swarm: service inspect of the archived job (404), what quartermaster asks first"
    )
    result["target"] = bench.verdict(
        "archived/live <= 1.0, both", all(ratio <= 1.0 for ratio in ratios.values())
    )
    return result


def no_such_service(api, job_id: str) -> None:
    try:
        api.inspect_service(job_id)
    except docker.errors.NotFound:
        return
    raise SystemExit(f"bench: the archived job {job_id} has a service")


def idle_cpu_figure(kind: str, empty: str, large: str, seconds: float) -> dict:
    """CPU used by the reaper (default interval and KEEP_FINISHED) and the manager's dockerd,
    no job on the swarm: with an empty store, then with 100,000 records."""
    result = {"name": f"idle CPU, reaper + manager's dockerd, % of a core ({kind})"}
    for label, url in (("empty", empty), (f"{LARGE}_records", large)):
        server = start_quartermaster(url, reaper_interval=None)
        try:
            reaper = reaper_pid(server)
            time.sleep(11)  # two rounds first: connections opened, schema checked
            parts = {"reaper": [reaper], "dockerd": [int(DOCKERD_PID.read_text())]}
            if kind == "postgresql":
                parts["postgresql"] = postgres_pids()
            before = {part: cpu_by_pid(pids) for part, pids in parts.items()}
            began = time.monotonic()
            time.sleep(seconds)
            if kind == "postgresql":
                parts["postgresql"] = postgres_pids()
            after = {part: cpu_by_pid(pids) for part, pids in parts.items()}
            elapsed = time.monotonic() - began
        finally:
            server.stop()
        percent = {part: 100 * cpu_between(before[part], after[part]) / elapsed for part in parts}
        for part, value in percent.items():
            result[f"{part}_{label}_percent"] = round(value, 2)
        result[f"reaper_and_dockerd_{label}_percent"] = round(
            percent["reaper"] + percent["dockerd"], 2
        )
    empty_total = result["reaper_and_dockerd_empty_percent"]
    large_total = result[f"reaper_and_dockerd_{LARGE}_records_percent"]
    result["seconds_each"] = seconds
    result["target"] = bench.verdict(
        "with 100,000 records as with none (within 0.5 points), < 2% of a core",
        abs(large_total - empty_total) <= 0.5 and large_total < 2,
    )
    return result


def reaper_pid(server: bench.Server) -> int:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        for pid in children(server.process.pid):
            with contextlib.suppress(FileNotFoundError):
                if b"quartermaster.background" in Path(f"/proc/{pid}/cmdline").read_bytes():
                    return pid
        time.sleep(0.1)
    raise SystemExit("bench: the quartermaster's reaper did not start")


def children(pid: int) -> list[int]:
    return [int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


def postgres_pids() -> list[int]:
    facts = json.loads(LAB_FACTS.read_text())["postgres"]
    postmaster = int(Path(facts["data_dir"], "postmaster.pid").read_text().split()[0])
    return [postmaster, *children(postmaster)]


def cpu_by_pid(pids: list[int]) -> dict[int, float]:
    """user + system CPU seconds of each process still there."""
    ticks = os.sysconf("SC_CLK_TCK")
    seconds = {}
    for pid in pids:
        with contextlib.suppress(FileNotFoundError, ProcessLookupError):
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            seconds[pid] = (int(fields[11]) + int(fields[12])) / ticks  # utime, stime
    return seconds


def cpu_between(before: dict[int, float], after: dict[int, float]) -> float:
    """CPU seconds used between two readings: by the processes there at the second (one that
    ended meanwhile is not counted; one that started counts from its start)."""
    return sum(used - before.get(pid, 0) for pid, used in after.items())


def churn_figure(kind: str, url: str, api, count: int) -> dict:
    """`count` jobs running `true`, each client submitting one and waiting for it to end, with
    KEEP_FINISHED=5 and REAPER_INTERVAL=1: the job services the swarm holds against the jobs
    that ended within the last KEEP_FINISHED, while they run (sampled) and once all are over."""
    server = start_quartermaster(
        url, reaper_interval=CHURN_REAPER_INTERVAL, KEEP_FINISHED=str(CHURN_KEEP_FINISHED)
    )
    engine = make_engine(url)
    submitted: list[str] = []
    samples: list[tuple[int, int, int]] = []  # held, ended within KEEP_FINISHED, overdue
    done = threading.Event()

    def client(jobs: int) -> None:
        session = requests.Session()
        for _ in range(jobs):
            response = session.post(
                f"{server.url}/run",
                json={"image": bench.IMAGE, "command": "true", "memory": 8},
                headers=bench.HEADERS,
                timeout=30,
            )
            response.raise_for_status()
            job_id = response.json()["id"]
            submitted.append(job_id)
            while get(session, f"{server.url}/status/{job_id}?wait=60").json()["status"] in (
                "pending",
                "started",
            ):
                pass

    def sampler() -> None:
        while not done.wait(2):
            samples.append(swarm_against_store(api, engine, time.time()))

    started = time.monotonic()
    watching = threading.Thread(target=sampler)
    watching.start()
    try:
        shares = [
            count // CHURN_CLIENTS + (i < count % CHURN_CLIENTS) for i in range(CHURN_CLIENTS)
        ]
        with ThreadPoolExecutor(CHURN_CLIENTS) as pool:
            list(pool.map(client, shares))
        run_seconds = time.monotonic() - started
        at_end = swarm_against_store(api, engine, time.time())
        time.sleep(CHURN_KEEP_FINISHED + 3 * CHURN_REAPER_INTERVAL)
        after_wait = swarm_against_store(api, engine, time.time())
        done.set()
        watching.join()
        with engine.connect() as connection:
            finals = connection.execute(
                sa.select(jobs.c.status, sa.func.count())
                .where(jobs.c.id.in_(submitted))
                .group_by(jobs.c.status)
            ).all()
            # The round that removed a job's service records it at that round's start.
            kept_for = [
                (removed - finished) / NANO
                for removed, finished in connection.execute(
                    sa.select(jobs.c.service_removed_at, jobs.c.finished_at).where(
                        jobs.c.id.in_(submitted), jobs.c.service_removed_at.is_not(None)
                    )
                )
            ]
    finally:
        done.set()
        server.stop()
        engine.dispose()
    held_wait, ended_wait, _ = after_wait
    worst = max([*samples, at_end], key=lambda sample: sample[2])
    return {
        "name": f"{count} short jobs to completion, KEEP_FINISHED={CHURN_KEEP_FINISHED}, "
        f"REAPER_INTERVAL={CHURN_REAPER_INTERVAL:g} ({kind})",
        "run_seconds": round(run_seconds, 1),
        "jobs_per_second": round(count / run_seconds, 1),
        "records_by_status": {status: number for status, number in finals},
        "held_at_last_end": at_end[0],
        "ended_within_keep_finished_at_last_end": at_end[1],
        "held_after_keep_finished_and_3_rounds": held_wait,
        "ended_within_keep_finished_then": ended_wait,
        "max_held_while_running": max((sample[0] for sample in samples), default=0),
        "max_overdue_while_running": worst[2],
        "overdue": "held services of jobs that ended over KEEP_FINISHED + 2 rounds ago",
        "service_kept_after_end_median_s": round(statistics.median(kept_for), 1),
        "service_kept_after_end_p95_s": round(bench.p95(kept_for), 1),
        "service_kept_after_end_max_s": round(max(kept_for), 1),
        "target": bench.verdict(
            "once all ended, the swarm holds only jobs that ended within KEEP_FINISHED",
            held_wait <= ended_wait and len(kept_for) == count,
        ),
    }


def swarm_against_store(api, engine: sa.Engine, now: float) -> tuple[int, int, int]:
    """The job services the swarm holds; the jobs that ended within KEEP_FINISHED (by their
    records); the services held of jobs that ended longer ago than KEEP_FINISHED + 2 rounds."""
    held = [service["ID"] for service in api.services(filters={"label": "quartermaster.job=true"})]
    window = round((now - CHURN_KEEP_FINISHED) * NANO)
    overdue_before = round((now - CHURN_KEEP_FINISHED - 2 * CHURN_REAPER_INTERVAL) * NANO)
    with engine.connect() as connection:
        ended = connection.execute(
            sa.select(sa.func.count()).where(jobs.c.finished_at >= window)
        ).scalar_one()
        overdue = 0
        if held:
            overdue = connection.execute(
                sa.select(sa.func.count()).where(
                    jobs.c.id.in_(held), jobs.c.finished_at < overdue_before
                )
            ).scalar_one()
    return len(held), ended, overdue


def remove_job_services(api) -> None:
    for service in api.services(filters={"label": "quartermaster.job=true"}):
        with contextlib.suppress(docker.errors.NotFound):
            api.remove_service(service["ID"])


def print_table(results: dict) -> None:
    print(f"machine: {results['machine']}  date: {results['date']}")
    for item in results["figures"]:
        values = ", ".join(f"{k}={v}" for k, v in item.items() if k != "name")
        print(f"- {item['name']}: {values}")
    print(f"- the whole run: {results['seconds']} s")


if __name__ == "__main__":
    main()
