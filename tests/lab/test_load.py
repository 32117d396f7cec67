"""Load: 50 clients for 60 s against gunicorn on loopback, mixing /run, /status, /jobs, /stop.

Each client runs a job, then either stops it at once or polls its status until it is final,
and lists jobs in between, like a script driving quartermaster would. Every answer must be a
JSON 2xx, and every job /run returned must be accounted for at the end.
Latencies (p50/p99 per route) are printed; the README's Reliability section records them.
"""

import random
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from support.settings import TOKEN

pytestmark = pytest.mark.alone  # fifty clients for a minute: the CPU is its own

CLIENTS = 50
SECONDS = 60
POLL_INTERVAL = 0.25
FINAL = {"complete", "failed", "rejected", "shutdown", "lost"}
HEADERS = {"Authorization": f"Bearer {TOKEN}"}


@dataclass
class Tally:
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: list[str] = field(default_factory=list)
    kept: set[str] = field(default_factory=set)  # jobs run to their end
    stopped: set[str] = field(default_factory=set)  # jobs stopped (removed) by their client
    lock: threading.Lock = field(default_factory=threading.Lock)


class Client:
    def __init__(self, url: str, image: str, tally: Tally, deadline: float, seed: int):
        self.url, self.image, self.tally, self.deadline = url, image, tally, deadline
        self.session = requests.Session()
        self.session.headers.update(HEADERS)
        self.random = random.Random(seed)  # noqa: S311 - a repeatable mix, not a secret

    def call(self, route: str, method: str, path: str, **kwargs) -> dict | None:
        started = time.monotonic()
        try:
            response = self.session.request(method, f"{self.url}{path}", timeout=30, **kwargs)
            document = response.json()
        except (requests.RequestException, ValueError) as error:
            document, problem = None, f"{route}: {error!r}"
        else:
            problem = None if response.ok else f"{route}: {response.status_code} {document}"
        with self.tally.lock:
            self.tally.latencies[route].append(time.monotonic() - started)
            if problem:
                self.tally.errors.append(problem)
        return None if problem else document

    def run(self):
        while time.monotonic() < self.deadline:
            created = self.call("POST /run", "POST", "/run", json=self.job())
            if created is None:
                continue
            job_id = created["id"]
            if self.random.random() < 0.5:
                self.call("GET /status", "GET", f"/status/{job_id}")
                if self.call("POST /stop", "POST", "/stop", json={"id": job_id}):
                    with self.tally.lock:
                        self.tally.stopped.add(job_id)
            else:
                with self.tally.lock:
                    self.tally.kept.add(job_id)
                self.poll_until_final(job_id)
            self.call("GET /jobs", "GET", "/jobs", params={"limit": 20})

    def job(self) -> dict:
        command = self.random.choice(["true", "echo hello", "sh -c 'exit 3'"])
        return {"image": self.image, "command": command}

    def poll_until_final(self, job_id: str):
        while time.monotonic() < self.deadline:
            document = self.call("GET /status", "GET", f"/status/{job_id}")
            if document and document["status"] in FINAL:
                return
            time.sleep(POLL_INTERVAL)


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def test_fifty_clients_for_a_minute_get_no_errors_and_lose_no_job(lab, live_server):
    tally = Tally()
    deadline = time.monotonic() + SECONDS
    clients = [Client(live_server.url, lab.image, tally, deadline, seed) for seed in range(CLIENTS)]
    threads = [threading.Thread(target=client.run) for client in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=SECONDS + 60)
    assert not any(thread.is_alive() for thread in threads)

    run, stopped = len(tally.kept), len(tally.stopped)
    print(f"\n{CLIENTS} clients, {SECONDS} s: {run} jobs run to their end, {stopped} stopped")
    for route, seconds in sorted(tally.latencies.items()):
        p50, p99 = percentile(seconds, 0.5) * 1000, percentile(seconds, 0.99) * 1000
        print(f"{route:12} {len(seconds):6} requests  p50 {p50:6.1f} ms  p99 {p99:6.1f} ms")
    print_server_side_means(live_server.url)
    assert tally.errors == []
    assert len(tally.kept) > CLIENTS and len(tally.stopped) > CLIENTS  # it really ran

    # Every job is accounted for: stopped ones are recorded final, the others finish.
    session = requests.Session()
    session.headers.update(HEADERS)
    for job_id in tally.stopped:
        assert (
            session.get(f"{live_server.url}/status/{job_id}", timeout=30).json()["status"] in FINAL
        )
    assert tally.kept <= listed_job_ids(session, live_server.url)
    for job_id in tally.kept:
        document = session.get(f"{live_server.url}/status/{job_id}?wait=60", timeout=90).json()
        assert document["status"] in {"complete", "failed"}, document
        assert document["attempts"] == 1


def print_server_side_means(url: str) -> None:
    """Where the time went, from quartermaster's own /metrics: answering, and Docker's part."""
    text = requests.get(f"{url}/metrics", headers=HEADERS, timeout=30).text
    sums, counts = defaultdict(float), defaultdict(float)
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            key = sample.labels.get("route") or "docker call " + sample.labels.get("call", "")
            if sample.name.endswith("_seconds_sum"):
                sums[(family.name, key)] += sample.value
            elif sample.name.endswith("_seconds_count"):
                counts[(family.name, key)] += sample.value
    for (name, key), total in sorted(sums.items()):
        if name.endswith("duration_seconds") and counts[(name, key)]:
            mean = total / counts[(name, key)] * 1000
            print(f"server side: {key:40} {int(counts[(name, key)]):6} x  mean {mean:6.1f} ms")


def listed_job_ids(session, url) -> set[str]:
    """Every job /jobs lists, page by page."""
    ids, cursor = set(), None
    while True:
        params = {"limit": 1000, **({"cursor": cursor} if cursor else {})}
        page = session.get(f"{url}/jobs", params=params, timeout=30).json()
        ids |= {job["id"] for job in page["jobs"]}
        cursor = page["next_cursor"]
        if cursor is None:
            return ids
