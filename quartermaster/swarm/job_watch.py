"""One poll per job in a process, shared by everyone waiting on that job.

`/status?wait` and followed logs wait for a job to reach a final state. Each used to ask Docker
on its own, every second or faster: 500 waiters on one job made about 1,270 Engine API calls a
second. Now the first to wait on a job starts one poller (a greenlet under gevent workers) that
reads the job's status every `POLL_SECONDS`; everyone waiting on it reads that poller's latest
status and waits on its `ended` event; the poller stops when the last of them leaves.

A watch ends when the job is final, when a poll fails (the job is gone, Docker is unreachable:
each waiter gets that error), or when the server is stopping.
"""

import contextlib
import logging
import threading
from collections.abc import Callable, Iterator

from quartermaster.jobs.errors import SWARM_CALL_ERRORS
from quartermaster.jobs.status import JobStatus
from quartermaster.process import lifecycle

log = logging.getLogger(__name__)

POLL_SECONDS = 0.5


class JobWatch:
    def __init__(self, service_id: str, first: JobStatus | None):
        self.service_id = service_id
        self.ended = threading.Event()
        self._latest: JobStatus | None = first
        self._error: Exception | None = None
        self._watchers = 0
        self._left = threading.Event()  # every watcher left: the poller stops

    def latest(self) -> JobStatus:
        """The job's status at the last poll; the poll's error if it failed (a copy for each
        waiter: one object raised by hundreds would gather all their tracebacks)."""
        if isinstance(self._error, SWARM_CALL_ERRORS):
            raise type(self._error)(str(self._error))
        if self._error is not None:
            raise self._error
        if self._latest is None:
            raise RuntimeError("the job's watch has no status yet: watch it with a first one")
        return self._latest

    @property
    def is_final(self) -> bool:
        return self._error is None and self._latest is not None and self._latest.is_final

    def _poll(self, read_status: Callable[[str], JobStatus]) -> None:
        """Until the watch ends or its watchers all left: read, then wait `POLL_SECONDS`."""
        if self._latest is not None and self._wait_or_over():
            return
        while not self._left.is_set():
            try:
                status = self._latest = read_status(self.service_id)
            except Exception as error:  # the job is gone, or Docker is: each waiter gets it
                if not isinstance(error, SWARM_CALL_ERRORS):
                    log.exception("polling job %s failed", self.service_id)
                self._error = error
                break
            if status.is_final:
                break
            if self._wait_or_over():
                return
        self.ended.set()

    def _wait_or_over(self) -> bool:
        """Wait one interval; True if the watch is over meanwhile (everyone left or stopping)."""
        if lifecycle.stopping.wait(POLL_SECONDS):
            self.ended.set()
            return True
        return self._left.is_set()


class JobWatches:
    """The watches of one process, by service id."""

    def __init__(self, read_status: Callable[[str], JobStatus]):
        self._read_status = read_status
        self._watches: dict[str, JobWatch] = {}
        self._lock = threading.Lock()

    @contextlib.contextmanager
    def watching(self, service_id: str, first: JobStatus | None = None) -> Iterator[JobWatch]:
        """The job's shared watch while the block runs. `first`: a status just read, so the
        first poll of a new watch can wait one interval."""
        with self._lock:
            watch = self._watches.get(service_id)
            if watch is None or watch.ended.is_set():
                watch = self._watches[service_id] = JobWatch(service_id, first)
                threading.Thread(target=watch._poll, args=(self._read_status,), daemon=True).start()
            watch._watchers += 1
        try:
            yield watch
        finally:
            with self._lock:
                watch._watchers -= 1
                if watch._watchers == 0:
                    watch._left.set()
                    if self._watches.get(service_id) is watch:
                        del self._watches[service_id]
