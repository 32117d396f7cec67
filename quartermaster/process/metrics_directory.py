"""Where the processes of one instance share their Prometheus samples (and the reaper's heartbeat).

Kept apart from `metrics.py` on purpose: this must run before anything imports prometheus_client,
which reads PROMETHEUS_MULTIPROC_DIR when it is imported.
"""

import atexit
import contextlib
import glob
import os
import shutil
import tempfile

VARIABLE = "PROMETHEUS_MULTIPROC_DIR"
HEARTBEAT_FILE = "reaper-heartbeat"  # the reaper's sign of life: see heartbeat.py
NODES_FILE = "node-reservations.json"  # what jobs reserve on each node: see swarm/kept_nodes.py


def prepare_metrics_directory() -> None:
    """An empty directory where every process of this instance writes its metrics."""
    directory = os.environ.get(VARIABLE)
    if directory:
        os.makedirs(directory, exist_ok=True)
        for stale in glob.glob(os.path.join(directory, "*.db")):
            os.remove(stale)  # samples of an earlier run would add up with this one's
        for earlier in (HEARTBEAT_FILE, NODES_FILE):  # an earlier run's
            with contextlib.suppress(FileNotFoundError):
                os.remove(os.path.join(directory, earlier))
        return
    directory = tempfile.mkdtemp(prefix="quartermaster-metrics-")
    os.environ[VARIABLE] = directory
    owner = os.getpid()  # forked workers inherit atexit handlers; only this process cleans up

    def remove_directory() -> None:
        if os.getpid() == owner:
            shutil.rmtree(directory, ignore_errors=True)

    atexit.register(remove_directory)
