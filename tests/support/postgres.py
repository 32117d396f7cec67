"""The lab's PostgreSQL (scripts/lab.sh): its facts, fresh databases on it, and outages.

Admin work goes over the cluster's Unix socket as its superuser (trust; the socket's directory is
open to root only). The URLs handed to tests are quartermaster's kind: SQLAlchemy URLs for
psycopg 3, as user qm, over TCP with its password or over the socket. (Fixtures:
tests/lab/conftest.py.)
"""

import contextlib
import json
import os
import secrets
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import psycopg
from psycopg import sql

from support.lab import LAB_FACTS, assert_alone

# Every database the tests make is named so, with the pid of the run that made it.
TEST_DATABASE_PREFIX = "qm_test_"
LOOPBACK = "127.0.0.1"
# Databases made by fresh_database_url() in this process, dropped by drop_fresh_databases().
_FRESH_DATABASES: list[str] = []


@dataclass(frozen=True)
class Postgres:
    socket_dir: str
    port: int
    addresses: tuple[str, ...]  # TCP: loopback and the lab bridge's address
    user: str
    password: str
    admin_user: str
    data_dir: str
    bin_dir: str
    log: Path

    @property
    def bridge_address(self) -> str:
        """The address containers on the lab swarm reach it at (10.77.0.1)."""
        return next(address for address in self.addresses if address != LOOPBACK)


def postgres_facts() -> Postgres:
    """The cluster's facts, as `make lab` recorded them."""
    facts = json.loads(LAB_FACTS.read_text()) if LAB_FACTS.exists() else {}
    if "postgres" not in facts:
        raise RuntimeError(f"the lab has no PostgreSQL ({LAB_FACTS}): run make lab")
    pg = facts["postgres"]
    return Postgres(
        socket_dir=pg["socket_dir"],
        port=pg["port"],
        addresses=tuple(pg["addresses"]),
        user=pg["user"],
        password=pg["password"],
        admin_user=pg["admin_user"],
        data_dir=pg["data_dir"],
        bin_dir=pg["bin_dir"],
        log=Path(pg["log"]),
    )


def database_url(name: str, host: str = LOOPBACK) -> str:
    """The SQLAlchemy URL of database `name` as user qm: over TCP to `host` (an address) with
    the password, or, when `host` is a directory (the socket's), over the socket without one."""
    pg = postgres_facts()
    if host.startswith("/"):
        return f"postgresql+psycopg://{quote(pg.user)}@/{name}?host={quote(host)}&port={pg.port}"
    credentials = f"{quote(pg.user, safe='')}:{quote(pg.password, safe='')}"
    return f"postgresql+psycopg://{credentials}@{host}:{pg.port}/{name}"


def libpq_url(url: str) -> str:
    """A URL of database_url's as libpq (psycopg.connect) takes it."""
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


def admin_connection(dbname: str = "postgres") -> psycopg.Connection:
    """A connection as the superuser over the socket, in autocommit (CREATE/DROP DATABASE)."""
    pg = postgres_facts()
    return psycopg.connect(
        host=pg.socket_dir, port=pg.port, user=pg.admin_user, dbname=dbname,
        autocommit=True, connect_timeout=5,
    )  # fmt: skip


def create_database() -> str:
    """A new empty database owned by qm, with a name no other database has; its name."""
    name = f"{TEST_DATABASE_PREFIX}{os.getpid()}_{secrets.token_hex(6)}"
    with admin_connection() as connection:
        connection.execute(
            sql.SQL("CREATE DATABASE {} OWNER {}").format(
                sql.Identifier(name), sql.Identifier(postgres_facts().user)
            )
        )
    return name


def drop_database(name: str) -> None:
    """Drop the database, ending whatever sessions are still connected to it."""
    with admin_connection() as connection:
        connection.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


def existing_test_databases() -> list[str]:
    """The names of the databases the tests made that still exist."""
    with admin_connection() as connection:
        rows = connection.execute(
            "SELECT datname FROM pg_database WHERE starts_with(datname, %s) ORDER BY datname",
            (TEST_DATABASE_PREFIX,),
        ).fetchall()
    return [name for (name,) in rows]


@contextlib.contextmanager
def fresh_database(host: str = LOOPBACK) -> Iterator[str]:
    """A new empty database for the block: its URL (see database_url); dropped after it."""
    name = create_database()
    try:
        yield database_url(name, host)
    finally:
        drop_database(name)


def fresh_database_url(host: str = LOOPBACK) -> str:
    """A new empty database's URL (see database_url); dropped by drop_fresh_databases(), which
    the lab tier's `postgres` fixture calls at the end of the session."""
    name = create_database()
    _FRESH_DATABASES.append(name)
    return database_url(name, host)


def drop_fresh_databases() -> None:
    while _FRESH_DATABASES:
        drop_database(_FRESH_DATABASES.pop())


def drop_leftover_databases() -> list[str]:
    """Drop the test databases of runs that are gone (killed before they dropped them); the
    names dropped."""
    dropped = []
    for name in existing_test_databases():
        pid = name.removeprefix(TEST_DATABASE_PREFIX).partition("_")[0]
        if not (pid.isdigit() and Path(f"/proc/{pid}").exists()):
            drop_database(name)
            dropped.append(name)
    return dropped


def postgres_answers() -> bool:
    """The cluster accepts connections on its socket."""
    try:
        with admin_connection() as connection:
            connection.execute("SELECT 1")
    except psycopg.OperationalError:
        return False
    return True


def _pg_ctl(*args: str) -> subprocess.CompletedProcess:
    """The cluster's pg_ctl as the postgres OS user; its postmaster in a session of its own, so
    a Ctrl-C of the test run does not reach it."""
    pg = postgres_facts()
    command = ["runuser", "-u", pg.admin_user, "--", f"{pg.bin_dir}/pg_ctl", "-D", pg.data_dir]
    return subprocess.run(
        [*command, *args], cwd="/", stdin=subprocess.DEVNULL, capture_output=True, text=True,
        start_new_session=True, timeout=90, check=False,
    )  # fmt: skip


def postgres_running() -> bool:
    """A postmaster runs on the cluster's data directory (answering or not)."""
    return _pg_ctl("status").returncode == 0  # 3: not running


def stop_postgres() -> None:
    """Stop the cluster at once (fast: sessions are ended, not waited for); return once it has
    stopped. Does nothing if it is not running."""
    if not postgres_running():
        return
    done = _pg_ctl("stop", "-m", "fast", "-w", "-t", "60")
    assert done.returncode == 0, f"pg_ctl stop failed: {done.stdout}{done.stderr}"


def start_postgres() -> None:
    """Start the cluster; return once it accepts connections. Does nothing if it is running."""
    if not postgres_running():
        log = str(postgres_facts().log)
        done = _pg_ctl("start", "-w", "-t", "60", "-l", log)
        assert done.returncode == 0, f"pg_ctl start failed: {done.stdout}{done.stderr}"
    assert postgres_answers(), "PostgreSQL runs but does not accept connections"


@contextlib.contextmanager
def postgres_down() -> Iterator[None]:
    """The cluster stopped for the block, started again after it (also when the block fails)."""
    assert_alone("PostgreSQL stopped")
    stop_postgres()
    try:
        yield
    finally:
        start_postgres()
