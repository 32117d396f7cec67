"""What this process read lately, kept so that the next read of the same job costs less: the
archived statuses and logs it answered (from the store: they never change) and the references it
found live (on the swarm: asked there first next time). Each is bounded, and per process: a
worker that read nothing lately asks as if it never had.
"""

import threading
import time
from collections import OrderedDict

from quartermaster.jobs.status import JobStatus

# An archived job's status never changes (its record only goes, with its ttl): a process answers
# from the ones it read lately, by full id, for this long, so that polling one costs no statement.
ARCHIVED_KEPT_SECONDS = 5.0
ARCHIVED_KEPT_JOBS = 1024
# An archived job's kept log never changes either: kept as its status is, within this many
# bytes in all (a log larger than a quarter of them is not kept: it would push out the others).
ARCHIVED_KEPT_LOG_BYTES = 4 * 1024 * 1024
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


class ArchivedLogs:
    """The kept logs of archived jobs this process read lately, by full id, each for
    ARCHIVED_KEPT_SECONDS from its read, at most ARCHIVED_KEPT_LOG_BYTES of them in all (a
    record deleted meanwhile: as ArchivedStatuses)."""

    def __init__(self, max_bytes: int = ARCHIVED_KEPT_LOG_BYTES) -> None:
        self._max_bytes = max_bytes
        self._kept: OrderedDict[str, tuple[float, int, list[tuple[int, bytes]]]] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def get(self, job_id: str) -> list[tuple[int, bytes]] | None:
        with self._lock:
            kept = self._kept.get(job_id)
            if kept is None:
                return None
            if time.monotonic() - kept[0] > ARCHIVED_KEPT_SECONDS:
                self._drop(job_id)
                return None
            return kept[2]

    def keep(self, job_id: str, chunks: list[tuple[int, bytes]]) -> None:
        size = sum(len(data) for _, data in chunks)
        if size > self._max_bytes // 4:
            return
        with self._lock:
            self._drop(job_id)
            self._kept[job_id] = (time.monotonic(), size, chunks)
            self._bytes += size
            while self._bytes > self._max_bytes:
                self._drop(next(iter(self._kept)))

    def _drop(self, job_id: str) -> None:
        kept = self._kept.pop(job_id, None)
        if kept is not None:
            self._bytes -= kept[1]


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
