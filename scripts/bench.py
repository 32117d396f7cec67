"""`make bench`: quartermaster against the raw Docker Engine API doing the same work, in one run.

Runs the `quartermaster` command under gunicorn as deployed (loopback only), and alternates each
measured request with the raw Engine API calls that do the same work (docker-py's low-level
client), so both see the same machine at the same moment. Prints a table of medians and p95s with
their ratio, and writes the figures to bench-results.json. Needs the lab (`make lab`).
One script of ~850 lines, as `make bench` runs it: each measured request beside its raw calls; and
10,000 jobs waiting for a node, for /nodes and the idle reaper (parked_jobs_figures).
"""

import contextlib
import json
import multiprocessing
import os
import platform
import re
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import docker
import requests
from prometheus_client.parser import text_string_to_metric_families

from quartermaster.jobs.labels import job_filter
from quartermaster.jobs.spec import JobSpec
from quartermaster.jobs.times import NANO, nanos_of
from quartermaster.process.config import from_env
from quartermaster.reaper.reaper import FULL_ROUND_SECONDS, Reaper
from quartermaster.store import RecordStore
from quartermaster.swarm.docker_connection import DockerConnection
from quartermaster.swarm.spec import service_spec

ROUNDS = 200
WARM_UP = 30  # rounds run first and not counted: each worker's first calls connect to Docker
PARK_LABEL = "qm-bench"
IMAGE = "qm/busybox:latest"
TOKEN = secrets.token_urlsafe(16)
HEADERS = {"Authorization": f"Bearer {TOKEN}"}
RESULTS = Path("bench-results.json")
MANAGER = "unix:///var/run/docker.sock"
# The jobs waiting for a node of parked_jobs_figures: a deployment of their own, on a constraint
# no node meets.
PARKED_JOBS = 10_000
PARKED_DEPLOYMENT = "qm-bench-parked"
NEVER_MATCHED = "node.labels.qm-bench-never==1"
PARKING_THREADS = 16
IDLE_SECONDS = 60


def main() -> None:
    api = docker.APIClient(base_url="unix:///var/run/docker.sock", version="auto", timeout=60)
    api.trust_env = False  # as quartermaster's client: no environment scan on every call
    remove_parked(api)
    server = start_server()
    bare = start_bare_server()
    results = {"machine": machine(), "date": time.strftime("%Y-%m-%d"), "figures": []}
    try:
        job_id = requests.post(
            f"{server.url}/run",
            json={"image": IMAGE, "command": "sleep 600"},
            headers=HEADERS,
            timeout=10,
        ).json()["id"]
        status_figures = []
        for others in (10, 1000):
            park_services(api, others)
            status_figures.append(status_figure(server, bare, api, job_id, others))
            results["figures"] += [status_figures[-1], throughput_figure(server, job_id, others)]
        record_parked()  # made raw: without a record, /jobs would not list them
        results["figures"].append(jobs_figure(server))  # with the 1000 parked jobs
        results["figures"].append(wait_fanout_figure(server))
        # 10 again: the machine drifts during a run, so 1000 is set against 10 before and after.
        park_services(api, 10)
        status_figures.append(status_figure(server, bare, api, job_id, 10))
        results["figures"] += [status_figures[-1], flatness_figure(*status_figures)]
        results["figures"].append(run_figure(server, api))
        results["figures"] += archived_throughput_figures(server)
        results["figures"] += archived_throughput_figures_on_postgresql()
        results["rss_mb_per_worker"] = worker_rss_mb(server)
        results["figures"] += run_rate_figures(api)
        results["figures"] += parked_jobs_figures()
    finally:
        server.stop()
        bare.stop()
        remove_parked(api)
        for service in api.services(filters={"label": "quartermaster.job=true"}):
            api.remove_service(service["ID"])
    print_table(results)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    print(f"\nwritten to {RESULTS}")


class Server:
    def __init__(self, process, url):
        self.process, self.url = process, url

    def stop(self):
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(timeout=30)


def start_server() -> Server:
    quartermaster = str(Path(sys.executable).parent / "quartermaster")
    return start(lambda port: [quartermaster, "--port", str(port), "--reaper-interval", "0"])


def start_bare_server() -> Server:
    """A bare WSGI app under the same gunicorn settings: what one HTTP hop costs here."""
    bare = str(Path(__file__).parent / "bare_server.py")
    return start(lambda port: [sys.executable, bare, f"127.0.0.1:{port}"])


def start(command_for_port, settings: dict[str, str] | None = None) -> Server:
    """Start a server on a free loopback port, with `settings` added to the environment."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {**os.environ, "TOKEN": TOKEN, "BIND": "127.0.0.1", **(settings or {})}
    process = subprocess.Popen(
        command_for_port(port), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    url = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            requests.get(f"{url}/healthz", timeout=1)
            return Server(process, url)
        except (requests.ConnectionError, requests.Timeout):  # not up yet, or a loaded machine
            time.sleep(0.1)
    Server(process, url).stop()  # not left running behind the bench
    raise SystemExit(f"bench: {command_for_port(port)[0]} did not start")


def start_deployment(deployment: str, **settings: str) -> tuple[Server, str]:
    """quartermaster as deployed, its jobs marked as `deployment`'s, its store in a temporary
    directory of its own (removed if it does not start): the server, and that directory."""
    data_dir = tempfile.mkdtemp(prefix=f"{deployment}-")
    quartermaster = str(Path(sys.executable).parent / "quartermaster")
    env = {"DATA_DIR": data_dir, "DEPLOYMENT": deployment, **settings}
    try:
        return start(lambda port: [quartermaster, "--port", str(port)], env), data_dir
    except BaseException:
        shutil.rmtree(data_dir, ignore_errors=True)
        raise


def remove_deployment_jobs(api, deployment: str, threads: int = 16) -> None:
    """Every job service of `deployment`, removed `threads` at a time."""
    jobs = api.services(filters={"label": job_filter(deployment)})
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(lambda service: api.remove_service(service["ID"]), jobs))


def print_figures(results: dict) -> None:
    """A bench's results as its part of `make bench` prints them."""
    print(f"machine: {results['machine']}  date: {results['date']}")
    for line in results.get("running_beside", []):
        print(f"running beside: {line}")
    for item in results["figures"]:
        values = ", ".join(f"{k}={v}" for k, v in item.items() if k != "name")
        print(f"- {item['name']}: {values}")


def park_services(api, count: int) -> None:
    """Exactly `count` other jobs on the swarm: services with quartermaster's job label and 0
    replicas, so nothing runs, but /jobs lists them all. Through the Engine API (about 2 ms each);
    the docker CLI would ask a registry for every image's digest."""
    parked = api.services(filters={"label": PARK_LABEL})
    for service in parked[count:]:
        api.remove_service(service["ID"])
    for index in range(len(parked), count):
        api.create_service(
            {"ContainerSpec": {"Image": IMAGE, "Args": ["true"]}},
            name=f"bench-parked-{index}",
            labels={PARK_LABEL: "1", "quartermaster.job": "true"},
            mode={"Replicated": {"Replicas": 0}},
        )


def record_parked() -> None:
    """One reaper round on the benchmarked server's store (its own reaper is off: it would
    measure itself too), which records the parked services made raw, as it would jobs made while
    the store was out of reach: /jobs lists the store's records."""
    reaper = Reaper(from_env({**os.environ, "TOKEN": TOKEN}))
    try:
        reaper.run_once()
    finally:
        reaper.close()


def remove_parked(api) -> None:
    for service in api.services(filters={"label": PARK_LABEL}):
        api.remove_service(service["ID"])


def timed(call) -> float:
    started = time.perf_counter()
    call()
    return time.perf_counter() - started


def status_figure(server, bare, api, job_id: str, others: int) -> dict:
    """GET /status against the raw calls it makes: through docker-py one after the other (the
    target's baseline) and at once, and as plain HTTP on the socket. And where the rest goes:
    the same client on a quartermaster route that never reaches Docker (an unknown one: a JSON
    404), and on a bare WSGI app under the same gunicorn settings (the HTTP hop's floor here)."""
    session = requests.Session()  # keep-alive, as a polling client would
    side_by_side = ThreadPoolExecutor(2)
    plain = DockerConnection("unix:///var/run/docker.sock", timeout=60, pool_size=2).engine
    ours, raw, raw_at_once, plain_http, no_docker, floor = [], [], [], [], [], []
    for round_number in range(WARM_UP + ROUNDS):
        if round_number == WARM_UP:
            for series in (ours, raw, raw_at_once, plain_http, no_docker, floor):
                series.clear()
        ours.append(timed(lambda: session.get(f"{server.url}/status/{job_id}", headers=HEADERS)))
        raw.append(timed(lambda: (api.inspect_service(job_id), tasks_of(api, job_id))))
        raw_at_once.append(timed(lambda: both_at_once(side_by_side, api, job_id)))
        plain_http.append(timed(lambda: (plain.inspect_service(job_id), tasks_of(plain, job_id))))
        no_docker.append(timed(lambda: session.get(f"{server.url}/no-docker", headers=HEADERS)))
        floor.append(timed(lambda: session.get(f"{bare.url}/", headers=HEADERS)))
    side_by_side.shutdown()
    result = figure(
        f"GET /status, {others} other services",
        ours,
        raw,
        "raw: service inspect + tasks filtered by service, one after the other",
        target_ratio=1.25,
    )
    # Each round's own ratio: neighbours in time, so the machine's drift cancels out.
    result["paired_ratio_median"] = round(
        statistics.median(o / r for o, r in zip(ours, raw, strict=True)), 2
    )
    result["raw_at_once_median_ms"] = ms(statistics.median(raw_at_once))
    result["ratio_to_raw_at_once"] = round(
        statistics.median(ours) / statistics.median(raw_at_once), 2
    )
    # The same two calls as plain HTTP on the socket, one after the other, without docker-py's
    # requests stack: nearly the Engine API's own time.
    result["raw_plain_http_median_ms"] = ms(statistics.median(plain_http))
    result["ratio_to_raw_plain_http"] = round(
        statistics.median(ours) / statistics.median(plain_http), 2
    )
    result["quartermaster_without_docker_median_ms"] = ms(statistics.median(no_docker))
    result["bare_gunicorn_hop_median_ms"] = ms(statistics.median(floor))
    return result


def tasks_of(api, job_id: str) -> list:
    return api.tasks(filters={"service": job_id})


def both_at_once(pool: ThreadPoolExecutor, api, job_id: str) -> None:
    tasks = pool.submit(tasks_of, api, job_id)
    api.inspect_service(job_id)
    tasks.result()


def throughput_figure(server, job_id: str, others: int) -> dict:
    rate, non_2xx = wrk(f"{server.url}/status/{job_id}")
    return {
        "name": f"GET /status throughput, 16 connections, {others} other services",
        "requests_per_second": rate,
        "non_2xx": non_2xx,
        "raw_pairs_per_second": raw_throughput(job_id),
        "raw": "raw: service inspect + filtered tasks, 16 clients (2 processes x 8 threads)",
        "target": verdict(">= 800 requests/s", rate >= 800),
    }


def wrk(url: str, seconds: int = 10) -> tuple[float, int]:
    """Requests per second wrk gets from `url` with the token, 16 connections; and how many of
    its answers were not 2xx or 3xx."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua") as script:
        script.write(f'wrk.headers["Authorization"] = "Bearer {TOKEN}"\n')
        script.flush()
        output = subprocess.run(
            ["wrk", "-t2", "-c16", f"-d{seconds}s", "-s", script.name, url],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    return rate, int(errors.group(1)) if errors else 0


def archived_throughput_figures_on_postgresql() -> list[dict]:
    """archived_throughput_figures on a server whose store is a new PostgreSQL database of the
    lab's cluster."""
    import bench_store  # imports this module: its stores are made the same way

    quartermaster = str(Path(sys.executable).parent / "quartermaster")
    with bench_store.new_store("postgresql") as url:
        server = start(
            lambda port: [quartermaster, "--port", str(port), "--reaper-interval", "0"],
            {"DATABASE_URL": url},
        )
        try:
            return archived_throughput_figures(server, "postgresql")
        finally:
            server.stop()


def archived_throughput_figures(server, store: str = "sqlite") -> list[dict]:
    """/status and /logs?tail=100 of an archived job (stopped: its service removed, its record
    all there is) against a route neither Docker nor the store answers (a 404: Flask, the token
    check, the access log, the metrics), in requests per second under wrk, in one run."""
    printer = "for i in $(seq 1 200); do echo line $i; done"
    job_id = requests.post(
        f"{server.url}/run",
        json={"image": IMAGE, "command": ["sh", "-c", printer]},
        headers=HEADERS,
        timeout=10,
    ).json()["id"]
    requests.get(f"{server.url}/status/{job_id}?wait=60", headers=HEADERS, timeout=90)
    requests.post(f"{server.url}/stop", json={"id": job_id}, headers=HEADERS, timeout=30)
    no_docker, _ = wrk(f"{server.url}/nothing-here")
    figures = []
    for read in (f"/status/{job_id}", f"/logs/{job_id}?tail=100"):
        rate, non_2xx = wrk(f"{server.url}{read}")
        ratio = round(rate / no_docker, 2)
        figures.append(
            {
                "name": f"GET {read.replace(job_id, ':id')} of an archived job, {store}, "
                "16 connections",
                "requests_per_second": rate,
                "non_2xx": non_2xx,
                "no_docker_route_per_second": no_docker,
                "ratio": ratio,
                "target": verdict("ratio >= 0.7", ratio >= 0.7),
            }
        )
    return figures


def raw_throughput(job_id: str, seconds: float = 10) -> float:
    """What the Engine API itself serves of /status's two calls, 16 clients at a time."""
    with multiprocessing.get_context("fork").Pool(2) as pool:
        pairs = pool.starmap(raw_pairs, [(job_id, seconds, 8)] * 2)
    return round(sum(pairs) / seconds, 1)


def raw_pairs(job_id: str, seconds: float, threads: int) -> int:
    """Service inspect + filtered tasks, over and over from `threads` threads: how many pairs."""
    api = docker.APIClient(base_url="unix:///var/run/docker.sock", version="auto", timeout=60)
    api.trust_env = False
    deadline = time.monotonic() + seconds
    done = [0] * threads

    def loop(index: int) -> None:
        while time.monotonic() < deadline:
            api.inspect_service(job_id)
            tasks_of(api, job_id)
            done[index] += 1

    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(loop, range(threads)))
    return sum(done)


def parked_jobs_figures(count: int = PARKED_JOBS, settings: dict | None = None) -> list[dict]:
    """`count` live jobs waiting for a node that no node can be (a constraint no node meets),
    each the job of a quartermaster running as deployed, its reaper on (every REAPER_INTERVAL,
    5 s), with its record: /nodes, and the CPU its reaper and the manager's dockerd spend in an
    idle minute; and what one of the reaper's full rounds costs (FULL_ROUND_SECONDS apart)."""
    data_dir = tempfile.mkdtemp(prefix="qm-bench-parked-")
    settings = {"DATA_DIR": data_dir, "DEPLOYMENT": PARKED_DEPLOYMENT, **(settings or {})}
    quartermaster = str(Path(sys.executable).parent / "quartermaster")
    server = start(lambda port: [quartermaster, "--port", str(port)], settings)
    engine = DockerConnection(MANAGER, timeout=60, pool_size=PARKING_THREADS).engine
    config = from_env({**os.environ, "TOKEN": TOKEN, **settings})
    try:
        time.sleep(3 * 5)  # the reaper's first rounds
        # dockerd's CPU with no job at all, the same server and reaper up: what the rest of the
        # machine asks of it (the lab's workers; on a shared machine, others).
        baseline = idle_cpu_figure(server, 0)
        started = time.monotonic()
        park_pending_jobs(engine, count)
        made_in = time.monotonic() - started
        wait_recorded(RecordStore(config.store_url), count)
        recorded_in = time.monotonic() - started - made_in
        time.sleep(3 * 5)  # the reaper's rounds after the last record: settled
        figures = [nodes_figure(server, engine, count), idle_cpu_figure(server, count)]
        figures.append(full_round_figure(config, count))
        # And dockerd with the jobs still waiting but this quartermaster stopped: what the
        # swarm itself (its scheduler retrying them) and the rest of the machine cost.
        server.stop()
        figures[1]["dockerd_percent_with_quartermaster_stopped"] = dockerd_percent()
        figures[1]["reaper_percent_with_no_job"] = baseline["reaper_percent_of_a_core"]
        figures[1]["dockerd_percent_with_no_job"] = baseline["dockerd_percent_of_a_core"]
        figures[0]["jobs_made_in_s"] = round(made_in, 1)
        figures[0]["recorded_by_the_reaper_in_s"] = round(recorded_in, 1)
        return figures
    finally:
        server.stop()
        remove_pending_jobs(engine)
        shutil.rmtree(data_dir, ignore_errors=True)


def park_pending_jobs(engine, count: int) -> None:
    """`count` jobs of PARKED_DEPLOYMENT whose task waits for a node: made as /run makes them
    (quartermaster's service spec) but without a record (the reaper makes those: it is its
    work that is measured), PARKING_THREADS at a time as raw Engine API calls."""
    job = JobSpec(
        image=IMAGE, command=("true",), constraints=(NEVER_MATCHED,), labels={PARK_LABEL: "pending"}
    )
    spec = service_spec(job, None, PARKED_DEPLOYMENT)
    # Named: Docker's own names collide within a few thousand.
    with ThreadPoolExecutor(PARKING_THREADS) as pool:
        list(
            pool.map(
                lambda n: engine.create_service({**spec, "Name": f"{PARKED_DEPLOYMENT}-{n}"}),
                range(count),
            )
        )


def remove_pending_jobs(engine) -> None:
    pending = engine.services(filters={"label": f"{PARK_LABEL}=pending"})
    with ThreadPoolExecutor(PARKING_THREADS) as pool:
        list(pool.map(lambda service: engine.remove_service(service["ID"]), pending))


def wait_recorded(store: RecordStore, count: int, timeout: float = 900) -> None:
    deadline = time.monotonic() + timeout
    while len(store.live()) < count:
        if time.monotonic() > deadline:
            raise SystemExit(f"bench: the reaper did not record {count} parked jobs in time")
        time.sleep(2)
    store.close()


def nodes_figure(server, engine, count: int, rounds: int = 20) -> dict:
    """GET /nodes, alternating with the calls it made before 2026-12-07 (the nodes, and every
    task of the deployment's jobs, to sum those placed): the machine's moment is the same."""
    session = requests.Session()
    every_task = {"label": job_filter(PARKED_DEPLOYMENT)}
    ours, before, ages = [], [], []

    def nodes() -> None:
        answer = session.get(f"{server.url}/nodes", headers=HEADERS, timeout=30).json()
        ages.append(time.time() - nanos_of(answer["as_of"]) / NANO)

    for round_number in range(3 + rounds):
        if round_number == 3:  # warmed up
            ours.clear()
            before.clear()
            ages.clear()
        ours.append(timed(nodes))
        before.append(timed(lambda: (engine.nodes(), engine.tasks(filters=every_task))))
    median = statistics.median(ours)
    return {
        "name": f"GET /nodes with {count} live jobs waiting for a node",
        "median_ms": ms(median),
        "p95_ms": ms(p95(ours)),
        "answers_made_at_most_s_before": round(max(ages), 1),
        "its_calls_before_2026_12_07_median_ms": ms(statistics.median(before)),
        "target": verdict("<= 50 ms", median <= 0.050),
    }


def idle_cpu_figure(server, count: int) -> dict:
    """The CPU the reaper process and the manager's dockerd spent over IDLE_SECONDS with nothing
    happening, from /proc/<pid>/stat (utime + stime), in % of one core. dockerd's also counts
    what anything else on the machine asks of it meanwhile (the lab's workers, other clients)."""
    seconds = IDLE_SECONDS
    reaper, dockerd = reaper_pid(server), dockerd_pid()
    before = {pid: cpu_seconds([pid]) for pid in (reaper, dockerd)}
    time.sleep(seconds)
    spent = {pid: cpu_seconds([pid]) - before[pid] for pid in (reaper, dockerd)}
    reaper_percent = round(100 * spent[reaper] / seconds, 2)
    dockerd_percent = round(100 * spent[dockerd] / seconds, 2)
    return {
        "name": f"idle CPU, {count} live jobs waiting for a node, over {seconds:g} s",
        "reaper_percent_of_a_core": reaper_percent,
        "dockerd_percent_of_a_core": dockerd_percent,
        "target": verdict("< 3% each", reaper_percent < 3 and dockerd_percent < 3),
    }


def dockerd_percent() -> float:
    dockerd = dockerd_pid()
    before = cpu_seconds([dockerd])
    time.sleep(IDLE_SECONDS)
    return round(100 * (cpu_seconds([dockerd]) - before) / IDLE_SECONDS, 2)


def full_round_figure(config, count: int) -> dict:
    """One full round of the reaper (every job and live record read; FULL_ROUND_SECONDS apart),
    run here: its own CPU, and dockerd's meanwhile, in seconds and spread over the interval."""
    dockerd = dockerd_pid()
    reaper = Reaper(config)
    try:
        reaper.run_once()  # connects, and reads what the first round of a process reads
        docker_before, ours_before = cpu_seconds([dockerd]), time.process_time()
        reaper.run_once()
        ours = time.process_time() - ours_before
        docker_spent = cpu_seconds([dockerd]) - docker_before
    finally:
        reaper.close()
    return {
        "name": f"one full reaper round, {count} live jobs waiting for a node",
        "reaper_cpu_s": round(ours, 2),
        "dockerd_cpu_s": round(docker_spent, 2),
        "percent_of_a_core_every_full_round_seconds": round(
            100 * (ours + docker_spent) / FULL_ROUND_SECONDS, 2
        ),
    }


def reaper_pid(server) -> int:
    """The server's reaper: its child running quartermaster.reaper."""
    children = Path(f"/proc/{server.process.pid}/task/{server.process.pid}/children")
    for pid in children.read_text().split():
        if b"quartermaster.background" in Path(f"/proc/{pid}/cmdline").read_bytes():
            return int(pid)
    raise SystemExit("bench: the server has no reaper process")


def jobs_figure(server) -> dict:
    session = requests.Session()
    rounds = 20
    for _ in range(WARM_UP):
        session.get(f"{server.url}/jobs?limit=1000", headers=HEADERS)
    calls_before = docker_calls_so_far(server)
    times = [
        timed(lambda: session.get(f"{server.url}/jobs?limit=1000", headers=HEADERS))
        for _ in range(rounds)
    ]
    calls = (docker_calls_so_far(server) - calls_before) / rounds
    return {
        "name": "GET /jobs?limit=1000 with 1000 jobs",
        "median_ms": ms(statistics.median(times)),
        "p95_ms": ms(p95(times)),
        "engine_api_calls_per_request": calls,
        "target": "a fixed number of Engine API calls: " + ("met" if calls == 2 else "MISSED"),
    }


def docker_calls_so_far(server) -> float:
    """Engine API calls quartermaster's workers made, from its own /metrics."""
    text = requests.get(f"{server.url}/metrics", headers=HEADERS, timeout=10).text
    return sum(
        sample.value
        for family in text_string_to_metric_families(text)
        if family.name == "quartermaster_docker_call_duration_seconds"
        for sample in family.samples
        if sample.name.endswith("_count")
    )


def wait_fanout_figure(server, waiters: int = 500, seconds: float = 10) -> dict:
    """`waiters` clients hold /status?wait=60 on one job that stays pending: the Engine API calls
    per second that costs, per worker holding waiters (each polls the job once for all of its)."""
    job_id = requests.post(
        f"{server.url}/run",
        json={"image": IMAGE, "command": "true", "constraints": ["node.labels.qm-bench==never"]},
        headers=HEADERS,
        timeout=10,
    ).json()["id"]
    port = int(server.url.rsplit(":", 1)[1])
    request = f"GET /status/{job_id}?wait=60 HTTP/1.1\r\nHost: qm\r\n"
    request += f"Authorization: Bearer {TOKEN}\r\n\r\n"
    held = []
    for _ in range(waiters):
        held.append(socket.create_connection(("127.0.0.1", port), timeout=10))
        held[-1].sendall(request.encode())
    try:
        deadline = time.monotonic() + 60
        while sum(long_requests_by_worker(server).values()) < waiters:
            if time.monotonic() > deadline:
                raise SystemExit(f"bench: not all {waiters} waiters are waiting")
            time.sleep(0.2)
        time.sleep(2)  # each waiter's own first read of the job
        workers = sum(1 for count in long_requests_by_worker(server).values() if count)
        calls_before, started = docker_calls_so_far(server), time.monotonic()
        time.sleep(seconds)
        calls = docker_calls_so_far(server) - calls_before
        rate = calls / (time.monotonic() - started)
    finally:
        for sock in held:
            sock.close()
        requests.post(f"{server.url}/stop", json={"id": job_id}, headers=HEADERS, timeout=10)
    per_worker = rate / workers
    return {
        "name": f"?wait fan-out: {waiters} waiters on one pending job",
        "engine_api_calls_per_second": round(rate, 1),
        "workers_holding_waiters": workers,
        "engine_api_calls_per_second_per_worker": round(per_worker, 1),
        "before": "each waiter polled on its own: 992 calls/s measured here (issue 10: ~1,270)",
        "target": verdict("<= 10 per worker", per_worker <= 10),
    }


def long_requests_by_worker(server) -> dict[str, float]:
    """Long requests in flight in each worker (by pid), from quartermaster's own /metrics."""
    text = requests.get(f"{server.url}/metrics", headers=HEADERS, timeout=10).text
    counts: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        if family.name == "quartermaster_long_requests_in_flight":
            for sample in family.samples:
                pid = sample.labels.get("pid", "")
                counts[pid] = counts.get(pid, 0) + sample.value
    return counts


def run_figure(server, api, rounds: int = 10) -> dict:
    """POST /run until the task runs on a worker, against services/create until it runs."""
    ours, raw = [], []
    spec = {"Image": IMAGE, "Args": ["sleep", "30"]}
    for _ in range(rounds):
        started = time.perf_counter()
        job_id = requests.post(
            f"{server.url}/run",
            json={"image": IMAGE, "command": "sleep 30", "memory": 8},
            headers=HEADERS,
            timeout=10,
        ).json()["id"]
        wait_running(api, job_id)
        ours.append(time.perf_counter() - started)
        started = time.perf_counter()
        raw_id = api.create_service(
            {
                "ContainerSpec": spec,
                "RestartPolicy": {"Condition": "none"},
                "Placement": {"Constraints": ["node.role==worker"]},
                "Resources": {"Reservations": {"MemoryBytes": 8 * 2**20}},
            },
            labels={PARK_LABEL: "1"},
        )["ID"]
        wait_running(api, raw_id)
        raw.append(time.perf_counter() - started)
        for service_id in (job_id, raw_id):
            api.remove_service(service_id)
    return figure(
        "POST /run until running on a worker",
        ours,
        raw,
        "raw: services/create until its task runs",
        target_ratio=1.2,
    )


def wait_running(api, service_id: str) -> None:
    while True:
        tasks = api.tasks(filters={"service": service_id})
        if any(task["Status"]["State"] == "running" for task in tasks):
            return
        time.sleep(0.02)


def worker_rss_mb(server) -> list[float]:
    children = Path(f"/proc/{server.process.pid}/task/{server.process.pid}/children")
    sizes = []
    for pid in children.read_text().split():
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                sizes.append(round(int(line.split()[1]) / 1024, 1))
    return sizes


def figure(name, ours, raw, raw_label, target_ratio: float) -> dict:
    ratio = round(statistics.median(ours) / statistics.median(raw), 2)
    return {
        "name": name,
        "quartermaster_median_ms": ms(statistics.median(ours)),
        "quartermaster_p95_ms": ms(p95(ours)),
        "raw_median_ms": ms(statistics.median(raw)),
        "raw_p95_ms": ms(p95(raw)),
        "ratio_median": ratio,
        "raw": raw_label,
        "target": verdict(f"ratio <= {target_ratio}", ratio <= target_ratio),
    }


def flatness_figure(before: dict, large: dict, after: dict) -> dict:
    """/status with 1000 other services against 10, before and after. The raw calls do the same
    work whatever the swarm's size, so quartermaster's time per raw time in the same round is
    compared: it cancels the machine's drift, and would grow if quartermaster's cost did."""
    small = (before["paired_ratio_median"] + after["paired_ratio_median"]) / 2
    apart = large["paired_ratio_median"] / small
    return {
        "name": "GET /status per raw time, 1000 against 10 other services (before and after)",
        "times_apart": round(apart, 2),
        "target": verdict("at most 1.1x apart", 1 / 1.1 <= apart <= 1.1),
    }


def verdict(target: str, met: bool) -> str:
    return f"{target}: {'met' if met else 'MISSED'}"


def p95(values) -> float:
    return statistics.quantiles(values, n=20)[-1]


def ms(seconds: float) -> float:
    return round(seconds * 1000, 2)


def machine() -> str:
    cpus = os.cpu_count()
    with open("/proc/meminfo") as meminfo:
        memory = int(meminfo.readline().split()[1]) // 2**20
    system = f"{platform.system()} {platform.release()}"
    return f"{system}, {cpus} CPUs, {memory} GiB, Python {platform.python_version()}"


def print_table(results) -> None:
    print(f"machine: {results['machine']}  date: {results['date']}")
    for item in results["figures"]:
        values = ", ".join(f"{k}={v}" for k, v in item.items() if k != "name")
        print(f"- {item['name']}: {values}")
    rss = results["rss_mb_per_worker"]
    print(f"- RSS per gunicorn worker (MB): {rss}, {verdict('<= 60 MB', max(rss) <= 60)}")


# -- /run's rate against services/create's, 8 clients each ------------------------------------

RUN_CLIENTS = 8
RUN_SECONDS = 10
RUN_ROUNDS = 2  # each: quartermaster's phase, then the raw one
RUN_DEPLOYMENT = "qm-bench-run"  # its jobs are its own: no other server's reaper takes them
NEVER_PLACED = "node.labels.qm-bench-never==1"  # a constraint no node matches: jobs stay pending


def run_rate_figures(api, kinds=("sqlite", "postgresql")) -> list[dict]:
    """POST /run of a job that stays pending, from RUN_CLIENTS clients for RUN_SECONDS, against
    POST /services/create of the same service spec from as many clients (docker-py's low-level
    client), alternating in one run, on each store. The services each phase made are removed
    after it (in parallel), so each phase starts with the same swarm."""
    import bench_store  # imports this module: its stores are made the same way

    quartermaster = str(Path(sys.executable).parent / "quartermaster")
    figures = []
    for kind in kinds:
        with bench_store.new_store(kind) as url:
            settings = {"DATABASE_URL": url, "DEPLOYMENT": RUN_DEPLOYMENT}
            server = start(
                lambda port: [quartermaster, "--port", str(port), "--reaper-interval", "0"],
                settings,
            )
            try:
                figures.append(run_rate_figure(kind, server, api))
            finally:
                server.stop()
                remove_run_services(api)
    return figures


def run_rate_figure(kind: str, server, api) -> dict:
    body = {"image": IMAGE, "command": "true", "constraints": [NEVER_PLACED]}
    created = requests.post(f"{server.url}/run", json=body, headers=HEADERS, timeout=30)
    spec = api.inspect_service(created.json()["id"])["Spec"]  # what /run asks Docker for
    remove_run_services(api)
    _, loads = busy_cpus_during(lambda: time.sleep(2))  # the machine before the phases
    ours, raw, busy = [], [], []
    cpu_ms = {"run": [], "raw": []}  # CPU per request: quartermaster's, and dockerd's
    for _ in range(RUN_ROUNDS):
        for phase, series in ((("run", server.url, body), ours), (("raw", spec), raw)):
            pids = {"quartermaster": children_of(server.process.pid), "dockerd": [dockerd_pid()]}
            before = {part: cpu_seconds(part_pids) for part, part_pids in pids.items()}
            outcome, cpus = busy_cpus_during(lambda phase=phase: clients_for(phase))
            requests_made = outcome[0] * RUN_SECONDS
            cpu_ms[phase[0]].append(
                {
                    part: round((cpu_seconds(pids[part]) - before[part]) * 1000 / requests_made, 2)
                    for part in pids
                }
            )
            series.append(outcome)
            busy.append(cpus)
            remove_run_services(api)
    ours_rate = statistics.median(rate for rate, _ in ours)
    raw_rate = statistics.median(rate for rate, _ in raw)
    ratio = round(ours_rate / raw_rate, 2)
    return {
        "name": f"POST /run of a pending job, {RUN_CLIENTS} clients, {kind}",
        "jobs_per_second": [round(rate, 1) for rate, _ in ours],
        "p50_ms": [ms(p50) for _, p50 in ours],
        "raw_creates_per_second": [round(rate, 1) for rate, _ in raw],
        "raw_p50_ms": [ms(p50) for _, p50 in raw],
        "ratio_of_medians": ratio,
        "cpu_ms_per_job": cpu_ms["run"],
        "cpu_ms_per_raw_create": cpu_ms["raw"],
        "busy_cpus_before": loads,
        "busy_cpus_during_phases": busy,
        "raw": f"raw: POST /services/create of the same spec, {RUN_CLIENTS} clients",
        "target": verdict("ratio >= 0.9", ratio >= 0.9),
    }


def clients_for(phase: tuple) -> tuple[float, float]:
    """RUN_CLIENTS processes doing the phase's request for RUN_SECONDS: requests per second
    and the median latency."""
    with multiprocessing.get_context("fork").Pool(RUN_CLIENTS) as pool:
        started = time.monotonic() + 0.5  # every client begins at once
        outcomes = pool.starmap(run_client, [(phase, started)] * RUN_CLIENTS)
    latencies = [latency for client in outcomes for latency in client]
    return len(latencies) / RUN_SECONDS, statistics.median(latencies)


def run_client(phase: tuple, start_at: float) -> list[float]:
    """One client's latencies, each a request that succeeded (any other ends the bench)."""
    if phase[0] == "run":
        _, url, body = phase
        session = requests.Session()

        def once() -> None:
            answer = session.post(f"{url}/run", json=body, headers=HEADERS, timeout=60)
            if answer.status_code != 200:
                raise SystemExit(f"bench: /run answered {answer.status_code}: {answer.text}")

    else:
        api = docker.APIClient(base_url="unix:///var/run/docker.sock", version="auto", timeout=60)
        api.trust_env = False
        spec = dict(phase[1])

        def once() -> None:
            named = {**spec, "Name": f"bench-raw-{secrets.token_hex(6)}"}
            api._result(api._post_json(api._url("/services/create"), data=named), True)

    time.sleep(max(start_at - time.monotonic(), 0))
    deadline = start_at + RUN_SECONDS
    latencies = []
    while time.monotonic() < deadline:
        latencies.append(timed(once))
    return latencies


def children_of(pid: int) -> list[int]:
    return [int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


def descendants_of(pid: int) -> list[int]:
    found = []
    for child in children_of(pid):
        found += [child, *descendants_of(child)]
    return found


def dockerd_pid() -> int:
    return int(Path("/var/run/docker.pid").read_text())


def cpu_seconds(pids: list[int]) -> float:
    """user + system CPU seconds of these processes, those still there."""
    total = 0.0
    for pid in pids:
        with contextlib.suppress(FileNotFoundError, ProcessLookupError):
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def remove_run_services(api) -> None:
    mark = f"quartermaster.job={RUN_DEPLOYMENT}"
    services = api.services(filters={"label": mark})
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda service: api.remove_service(service["ID"]), services))


def busy_cpus_during(call):
    """`call`'s outcome, and how many CPUs the whole machine kept busy meanwhile (/proc/stat):
    the machine is shared, and a figure taken while it was busy says so."""

    def jiffies() -> tuple[int, int]:
        fields = [int(value) for value in Path("/proc/stat").read_text().split()[1:9]]
        return sum(fields), fields[3] + fields[4]  # all, idle + iowait

    total_before, idle_before = jiffies()
    outcome = call()
    total, idle = jiffies()
    busy_share = 1 - (idle - idle_before) / max(total - total_before, 1)
    return outcome, round(busy_share * (os.cpu_count() or 1), 2)


def run_rate_main() -> None:
    """`python scripts/bench.py run-rate [sqlite,postgresql]`: this figure alone."""
    api = docker.APIClient(base_url="unix:///var/run/docker.sock", version="auto", timeout=60)
    api.trust_env = False
    kinds = tuple(sys.argv[2].split(",")) if len(sys.argv) > 2 else ("sqlite", "postgresql")
    results = {"machine": machine(), "date": time.strftime("%Y-%m-%d"), "figures": []}
    results["figures"] = run_rate_figures(api, kinds)
    for item in results["figures"]:
        values = ", ".join(f"{k}={v}" for k, v in item.items() if k != "name")
        print(f"- {item['name']}: {values}")


if __name__ == "__main__":
    if sys.argv[1:2] == ["run-rate"]:
        run_rate_main()
    else:
        main()
