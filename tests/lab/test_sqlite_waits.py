"""A real quartermaster on its SQLite store: a /run whose record waits for the write lock another
process holds holds up no other request of its gevent worker (the unit tier measures the store
alone: test_sqlite_lock_waits.py)."""

import sqlite3
import threading
import time
from pathlib import Path

import requests

from support.lab import LiveServer, pending_job

HOLD_SECONDS = 3.0


def test_a_run_waiting_for_the_sqlite_lock_holds_up_no_other_request_of_its_worker(lab, tmp_path):
    server = LiveServer(
        tmp_path / "server.log", env={"WORKERS": "1", "REAPER_INTERVAL": "0"}
    ).start()
    try:
        database = Path(server.env["DATA_DIR"]) / "quartermaster.db"
        holder = sqlite3.connect(database, isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")
        held_at = time.monotonic()
        answered_at: list[float] = []

        def run_a_job() -> None:
            pending_job(server, lab)  # a 200, or nothing appended
            answered_at.append(time.monotonic())

        running = threading.Thread(target=run_a_job)
        running.start()
        slowest = 0.0
        while time.monotonic() - held_at < HOLD_SECONDS:
            started = time.monotonic()
            assert requests.get(f"{server.url}/healthz", timeout=10).status_code == 200
            slowest = max(slowest, time.monotonic() - started)
            time.sleep(0.05)
        assert slowest < 0.5, slowest
        assert running.is_alive() and not answered_at  # the /run's record waits for the lock still
        holder.rollback()
        holder.close()
        running.join(timeout=20)
        assert answered_at and answered_at[0] - held_at >= HOLD_SECONDS  # it did wait, and then ran
    finally:
        server.stop()
