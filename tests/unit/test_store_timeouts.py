"""A PostgreSQL server that accepts and never answers (a hung server or proxy, a peer gone
silent): every connection has its limits, so the migration, the master's start and a store call
each fail within a bounded time; while the store is away its callers fail at once instead of
queueing behind one attempt after another."""

import socket
import subprocess
import sys
import threading
import time

import pytest
from sqlalchemy import event
from sqlalchemy.exc import OperationalError

from quartermaster.jobs.errors import StoreUnavailable
from quartermaster.jobs.query import JobQuery
from quartermaster.store import RecordStore, migrate
from quartermaster.store.engine import POSTGRESQL_LIMITS, POSTGRESQL_SETTINGS, make_engine

BOUND = 10  # seconds any of these may take: connect_timeout is 3
RUNS_THE_MASTERS_HOOK = """
import sys
from quartermaster.process.config import Config
from quartermaster.server.gunicorn_app import prepare_store
prepare_store(Config(token="unused-here-token-16", database_url=sys.argv[1]))(None)
"""


class SilentListener:
    """A loopback socket that accepts every connection and never sends a byte."""

    def __init__(self):
        self._socket = socket.create_server(("127.0.0.1", 0))
        self._socket.settimeout(0.1)
        self.port = self._socket.getsockname()[1]
        self.accepted: list[socket.socket] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self):
        while not self._stop.is_set():
            try:
                self.accepted.append(self._socket.accept()[0])
            except TimeoutError:
                continue

    def close(self):
        self._stop.set()
        self._thread.join(timeout=5)
        for connection in [*self.accepted, self._socket]:
            connection.close()  # whatever still waits on them fails now


@pytest.fixture
def silent():
    listener = SilentListener()
    yield listener
    listener.close()


def url_of(listener: SilentListener) -> str:
    return f"postgresql+psycopg://qm:unused@127.0.0.1:{listener.port}/qm"


def outcome_within(seconds: float, call) -> tuple[BaseException | None, float]:
    """What `call` raised (None: nothing) and how long it took; fails the test if it is still
    waiting after `seconds` (it is left to end when the listener closes)."""
    outcome: list = []

    def run():
        started = time.monotonic()
        try:
            call()
            outcome.append((None, time.monotonic() - started))
        except BaseException as error:  # what it raised is the outcome
            outcome.append((error, time.monotonic() - started))

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(timeout=seconds)
    assert outcome, f"still waiting after {seconds} s"
    return outcome[0]


def test_the_migration_fails_within_its_limits(silent):
    error, _ = outcome_within(BOUND, lambda: migrate.upgrade(url_of(silent)))
    assert isinstance(error, OperationalError)


def test_a_store_read_fails_within_its_limits(silent):
    store = RecordStore(url_of(silent))
    error, _ = outcome_within(BOUND, lambda: store.page(JobQuery()))
    assert isinstance(error, StoreUnavailable)
    store.close()


def test_the_master_starts_serving_within_its_limits(silent):
    master = subprocess.run(
        [sys.executable, "-c", RUNS_THE_MASTERS_HOOK, url_of(silent)],
        capture_output=True, text=True, timeout=BOUND + 5,
    )  # fmt: skip
    assert master.returncode == 0, master.stderr
    assert "the record store is out of reach at start" in master.stderr


def test_callers_share_one_attempt_and_then_fail_at_once(silent):
    store = RecordStore(url_of(silent))
    outcomes: list = []
    callers = [
        threading.Thread(target=lambda: outcomes.append(outcome_within(BOUND, store.live)))
        for _ in range(4)
    ]
    for caller in callers:
        caller.start()
    for caller in callers:
        caller.join(timeout=BOUND + 1)
    assert [type(error) for error, _ in outcomes] == [StoreUnavailable] * 4
    # One attempt, its time shared by all: not one attempt after another, each waited for.
    assert len(silent.accepted) == 1
    assert max(took for _, took in outcomes) < POSTGRESQL_LIMITS["connect_timeout"] * 2
    error, took = outcome_within(BOUND, lambda: store.status("nosuchjob"))
    assert isinstance(error, StoreUnavailable) and took < 0.5  # the backoff: no new attempt
    assert len(silent.accepted) == 1
    store.close()


class Captured(Exception):
    """Raised with the arguments a connection would have been opened with."""


def connect_arguments(url: str) -> dict:
    engine = make_engine(url)

    @event.listens_for(engine, "do_connect")
    def capture(_dialect, _record, _arguments, keywords):
        raise Captured(keywords)

    try:
        with pytest.raises(Captured) as captured:
            engine.connect()
    finally:
        engine.dispose()
    return captured.value.args[0]


def test_every_postgresql_connection_has_its_limits():
    arguments = connect_arguments("postgresql+psycopg://qm@127.0.0.1:1/qm")
    assert {key: arguments[key] for key in POSTGRESQL_LIMITS} == POSTGRESQL_LIMITS
    assert arguments["options"] == POSTGRESQL_SETTINGS
    assert "-c statement_timeout=10000 -c lock_timeout=10000" in POSTGRESQL_SETTINGS


def test_the_urls_own_parameters_win():
    url = "postgresql+psycopg://qm@127.0.0.1:1/qm?connect_timeout=7&options=-c+lock_timeout%3D500"
    arguments = connect_arguments(url)
    assert arguments["connect_timeout"] == "7"
    assert arguments["keepalives_idle"] == POSTGRESQL_LIMITS["keepalives_idle"]
    # Both settings given, the URL's last: PostgreSQL takes the last of a setting given twice.
    assert arguments["options"] == POSTGRESQL_SETTINGS + " -c lock_timeout=500"
