"""At most a set number of Engine API calls in flight per process, each within its own deadline.

Without a cap, every waiting request held its own connection to Docker; with one, a call waits
for a free slot, but never past its deadline (the Docker timeout from when it was asked for): with
Docker hung and every slot taken, a call fails within about one timeout, not one per call ahead
of it. A followed log holds its connection after its headers came, outside the gate: those are
bounded by the limit of long requests (`long_requests.py`).
"""

import contextlib
import threading
import time
from collections.abc import Iterator

# The smallest time left that is still worth sending a call with.
MIN_SECONDS_LEFT = 0.05


class CallGate:
    def __init__(self, limit: int):
        self.limit = limit
        self._slots = threading.BoundedSemaphore(limit)

    @contextlib.contextmanager
    def call(self, timeout: float) -> Iterator[float]:
        """Hold a slot for one call that must be over `timeout` seconds from now; yields the
        seconds left for the call itself once a slot is free."""
        deadline = time.monotonic() + timeout
        if not self._slots.acquire(timeout=timeout):
            raise TimeoutError(
                f"Docker did not answer: {self.limit} calls in flight for {timeout:g}s"
            )
        try:
            yield max(deadline - time.monotonic(), MIN_SECONDS_LEFT)
        finally:
            self._slots.release()
