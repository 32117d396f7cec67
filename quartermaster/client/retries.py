"""When a request is sent again: a bounded number of attempts within a bounded time, with
backoff, honouring the server's Retry-After."""

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from quartermaster.client.errors import ConnectionFailed, QuartermasterError

T = TypeVar("T")
FIRST_DELAY_SECONDS = 0.5  # then doubled after each attempt
MAX_DELAY_SECONDS = 8.0


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int  # in all, the first included
    within_seconds: float  # no attempt starts later than this after the first
    on_codes: frozenset[int]  # error codes worth another attempt (no answer always is)

    def worth_retrying(self, error: QuartermasterError) -> bool:
        return isinstance(error, ConnectionFailed) or error.code in self.on_codes


# /run: safe to send again, with its Idempotency-Key, whatever happened to the first attempt.
RUN_RETRIES = RetryPolicy(attempts=5, within_seconds=30.0, on_codes=frozenset({429, 503}))
# /stop: stopping a stopped job answers its id, so a repeat is harmless.
STOP_RETRIES = RetryPolicy(attempts=3, within_seconds=15.0, on_codes=frozenset({429, 503}))
# Reads: a dropped connection, or the server's cap on long requests.
READ_RETRIES = RetryPolicy(attempts=3, within_seconds=15.0, on_codes=frozenset({429}))
NO_RETRIES = RetryPolicy(attempts=1, within_seconds=0.0, on_codes=frozenset())


def with_retries(
    policy: RetryPolicy, attempt: Callable[[], T], sleep: Callable[[float], None] = time.sleep
) -> T:
    """`attempt()`, again after each error worth retrying, until it succeeds or the policy's
    attempts or time run out (then its last error is raised)."""
    start = time.monotonic()
    delay = FIRST_DELAY_SECONDS
    for number in range(1, policy.attempts + 1):
        try:
            return attempt()
        except QuartermasterError as error:
            pause = delay if error.retry_after is None else error.retry_after
            too_late = time.monotonic() + pause - start > policy.within_seconds
            if number == policy.attempts or too_late or not policy.worth_retrying(error):
                raise
        sleep(pause)
        delay = min(delay * 2, MAX_DELAY_SECONDS)
    raise AssertionError("unreachable: the last attempt returns or raises")
