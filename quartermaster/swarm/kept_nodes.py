"""What jobs reserve on each node as last read from the swarm, kept for the processes of one
instance.

Reading the reservations makes swarm walk every task, those of jobs waiting for a node included
(nodes.placed_job_tasks: about 60 ms with 10,000 waiting). So /nodes answers from the last
reading while it is at most one reaper round old, and says when it was made. The reaper keeps a
reading after every round that reads the placed tasks; a worker that finds none recent enough
reads the swarm itself and keeps that. A file in the instance's shared directory, as the reaper's
heartbeat: without one (an app not started by the `quartermaster` command), nothing is kept and
every /nodes reads the swarm.
"""

import contextlib
import json
import os
import tempfile
from dataclasses import asdict
from pathlib import Path

from quartermaster.jobs.nodes import NodesReading, NodeSummary
from quartermaster.process.metrics_directory import NODES_FILE
from quartermaster.process.metrics_directory import VARIABLE as DIRECTORY_VARIABLE


def keep(reading: NodesReading) -> None:
    """Keep `reading` for this instance's processes (replaced whole: a reader never sees half of
    one). Best effort: a reading not kept is made again by the next /nodes."""
    path = _path()
    if path is None:
        return
    document = {"as_of": reading.as_of, "nodes": [asdict(node) for node in reading.nodes]}
    written = None
    try:
        with tempfile.NamedTemporaryFile(
            "w", dir=path.parent, prefix=".nodes-", suffix=".json", delete=False
        ) as written:
            json.dump(document, written)
        os.replace(written.name, path)
    except OSError:
        if written is not None:
            with contextlib.suppress(OSError):
                os.unlink(written.name)  # a half-written one, or one not put in place


def kept_since(moment: float) -> NodesReading | None:
    """The kept reading, if one made at or after `moment` is kept (epoch seconds)."""
    path = _path()
    if path is None:
        return None
    try:
        document = json.loads(path.read_text())
        reading = NodesReading(
            [NodeSummary(**node) for node in document["nodes"]], float(document["as_of"])
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None  # none yet, or one an older release wrote: read the swarm
    return reading if reading.as_of >= moment else None


def _path() -> Path | None:
    directory = os.environ.get(DIRECTORY_VARIABLE)
    return Path(directory, NODES_FILE) if directory else None
