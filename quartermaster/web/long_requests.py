"""A cap on long requests (`/status?wait`, `/logs?follow`) per worker, so they never take every
connection: beyond `MAX_LONG_REQUESTS` at once, a long request is answered `429` with
`Retry-After`, and `/status`, `/run`, `/healthz` and the rest always have connections left.

The count of each kind in flight is the gauge `quartermaster_long_requests_in_flight`.
"""

import contextlib
import threading
from collections.abc import Callable, Iterator

from quartermaster.process import metrics
from quartermaster.web.errors import ApiError

RETRY_AFTER_SECONDS = 5


class LongRequests:
    def __init__(self, limit: int):
        self.limit = limit
        self._slots = threading.BoundedSemaphore(limit)

    def admit(self, kind: str) -> Callable[[], None]:
        """Take a slot for a request of `kind` (wait, follow), or raise the 429; returns the
        function that gives the slot back (once, however often it is called)."""
        if not self._slots.acquire(blocking=False):
            raise ApiError(
                429,
                f"too many long requests (waits and follows) on this worker, at most "
                f"{self.limit} at once; retry later",
                headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
            )
        gauge = metrics.long_requests.labels(kind)
        gauge.inc()
        released = threading.Event()

        def release() -> None:
            if not released.is_set():
                released.set()
                gauge.dec()
                self._slots.release()

        return release

    @contextlib.contextmanager
    def held(self, kind: str) -> Iterator[None]:
        release = self.admit(kind)
        try:
            yield
        finally:
            release()
