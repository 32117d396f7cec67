"""The tests' secrets and settings."""

import hashlib
import os
import secrets
import tempfile
from pathlib import Path

from quartermaster.process.config import Config

# New each run, and the same in every process of a parallel run (pytest-xdist's run id): test ids
# that show it must be alike in each.
_PARALLEL_RUN = os.environ.get("PYTEST_XDIST_TESTRUNUID")
TOKEN = "test-" + (
    hashlib.sha256(_PARALLEL_RUN.encode()).hexdigest()[:22]
    if _PARALLEL_RUN
    else secrets.token_urlsafe(16)
)
BEARER = {"Authorization": f"Bearer {TOKEN}"}
CALLBACK_SECRET = "callback-" + secrets.token_urlsafe(16)
PROJECT_ROOT = Path(__file__).resolve().parents[2]
# A Docker host that is not there: whatever reaches it fails at once (the unit tier's Docker).
NO_DOCKER = "unix:///nonexistent/docker.sock"
# The record stores of the run's apps: a fresh SQLite file each (see make_config).
STORES = Path(tempfile.mkdtemp(prefix="qm-test-stores-"))


def fresh_store_url() -> str:
    return f"sqlite:///{STORES / secrets.token_hex(8)}.db"


def make_config(**settings) -> Config:
    """The tests' settings: no Docker unless a test names one (the lab's tests name the lab's
    manager), private callback addresses allowed (the tests' receivers are on loopback), and a
    record store of its own."""
    defaults = {
        "token": TOKEN,
        "docker_host": NO_DOCKER,
        "callback_allow_private": True,
        "database_url": fresh_store_url(),
    }
    return Config(**{**defaults, **settings})
