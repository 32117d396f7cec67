"""The reaper's sign of life: the modification time of a file the processes of one instance share.

The reaper touches it after every step of a round (each action, and the round's end, whether or
not Docker answered), and the master when it starts the reaper; /healthz and /metrics read it. It
lives in the instance's metrics directory: without one (an app not started by the `quartermaster`
command), this instance runs no reaper and there is nothing to tell.
"""

import os
import time
from pathlib import Path

from quartermaster.process.config import Config
from quartermaster.process.metrics_directory import HEARTBEAT_FILE
from quartermaster.process.metrics_directory import VARIABLE as DIRECTORY_VARIABLE

# A reaper that made no progress for this long beyond its interval is stale. Each step of a round
# is one Engine API call, bounded by DOCKER_TIMEOUT (10 s by default).
STALE_SECONDS = 60


def beat() -> None:
    path = _path()
    if path is not None:
        path.touch()


def last_beat() -> float | None:
    """When the reaper last showed progress (epoch seconds), or None: no reaper here."""
    path = _path()
    try:
        return path.stat().st_mtime if path is not None else None
    except FileNotFoundError:
        return None


def reaper_liveness(config: Config) -> dict:
    """`off`: no reaper in this instance; `ok`; or `stale`: no progress for too long."""
    last = None if config.reaper_interval == 0 else last_beat()
    if last is None:
        return {"state": "off"}
    quiet = max(0.0, time.time() - last)
    state = "ok" if quiet <= config.reaper_interval + STALE_SECONDS else "stale"
    return {"state": state, "seconds_since_progress": round(quiet, 1)}


def _path() -> Path | None:
    directory = os.environ.get(DIRECTORY_VARIABLE)
    return Path(directory, HEARTBEAT_FILE) if directory else None
