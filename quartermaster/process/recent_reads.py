"""What this process read lately, kept so that the next read of the same job costs less: the
archived statuses it answered (from the store: they never change) and the references it found
live (on the swarm: asked there first next time). Each is bounded, and per process: a worker
that read nothing lately asks as if it never had.
"""

import threading
import time
from collections import OrderedDict

from quartermaster.jobs.status import JobStatus

# An archived job's status never changes (its record only goes, with its ttl): a process answers
# from the ones it read lately, by full id, for this long, so that polling one costs no statement.
ARCHIVED_KEPT_SECONDS = 5.0
ARCHIVED_KEPT_JOBS = 1024
# References found live lately: a live job polled again is asked of the swarm first, without a
# statement. A reference kept after its job ended costs one call to the swarm, once.
LIVE_KEPT_REFERENCES = 1024


class ArchivedStatuses:
    """The archived statuses this process read lately, by full id: at most ARCHIVED_KEPT_JOBS,
    each for ARCHIVED_KEPT_SECONDS from its read (a record deleted meanwhile is still answered
    that long, by the process that read it)."""

    def __init__(self) -> None:
        self._kept: OrderedDict[str, tuple[float, JobStatus]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, job_id: str) -> JobStatus | None:
        with self._lock:
            kept = self._kept.get(job_id)
            if kept is None:
                return None
            if time.monotonic() - kept[0] > ARCHIVED_KEPT_SECONDS:
                del self._kept[job_id]
                return None
            return kept[1]

    def keep(self, status: JobStatus) -> None:
        with self._lock:
            self._kept[status.id] = (time.monotonic(), status)
            self._kept.move_to_end(status.id)
            while len(self._kept) > ARCHIVED_KEPT_JOBS:
                self._kept.popitem(last=False)


class LiveReferences:
    """The references this process found live on the swarm lately, the newest
    LIVE_KEPT_REFERENCES of them. Only an order of asking: whatever it holds, a live job is
    read from the swarm and an archived one from the store."""

    def __init__(self) -> None:
        self._kept: OrderedDict[str, None] = OrderedDict()
        self._lock = threading.Lock()

    def __contains__(self, reference: str) -> bool:
        with self._lock:
            return reference in self._kept

    def keep(self, reference: str) -> None:
        with self._lock:
            self._kept[reference] = None
            self._kept.move_to_end(reference)
            while len(self._kept) > LIVE_KEPT_REFERENCES:
                self._kept.popitem(last=False)

    def forget(self, reference: str) -> None:
        with self._lock:
            self._kept.pop(reference, None)
