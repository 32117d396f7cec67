"""Group commit: the writes that concurrent callers of one process ask for at once, in one
transaction.

Each /run writes its job's first record before it answers (a /stop right after it, /jobs and the
Idempotency-Key all rely on that record). One transaction each cost a gunicorn worker about a
third of its CPU per /run (BEGIN IMMEDIATE and its pragmas, the statements compiled and run one
row at a time, the commit), and on SQLite the callers of every worker then queue for the one
write lock. Here a caller hands its item over and waits: the first caller in becomes the writer,
lets the callers ready to run at that moment join (one cooperative yield), and writes every item
waiting in one call of `write`; each caller then gets its own outcome, after its item is
committed. Items arriving meanwhile wait for that write to end, and the first of them writes
them all next. No thread of its own: the writer is always one of the callers, so nothing is
left to start after a fork or to stop at exit.

A failure of the whole write (the store out of reach) reaches every caller of the batch as its
own error. A failure that may be one item's own (a value the store refuses, a constraint it
breaks: `alone_on`) is not charged to the others: the batch is written again one item at a time,
so that only that item's caller sees it.

Works alike with threads and with gevent's greenlets (threading's Lock and Event are gevent's in
a patched worker).
"""

import threading
import time
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

Item = TypeVar("Item")
Outcome = TypeVar("Outcome")


class _Waiter(Generic[Item, Outcome]):
    """One caller's item, and what it is woken with: its outcome, or its turn to write."""

    __slots__ = ("done", "error", "item", "outcome", "woken", "writes_next")

    def __init__(self, item: Item) -> None:
        self.item = item
        self.woken = threading.Event()
        self.writes_next = False
        self.done = False
        self.outcome: Outcome | None = None
        self.error: BaseException | None = None

    def succeeded(self, outcome: Outcome) -> None:
        self.outcome, self.done = outcome, True

    def failed(self, error: BaseException) -> None:
        self.error, self.done = error, True

    def result(self) -> Outcome:
        if self.error is not None:
            raise self.error
        return self.outcome  # type: ignore[return-value]  # done without an error


class GroupCommit(Generic[Item, Outcome]):
    """`submit(item)` writes `item` with the items submitted at the same time, through
    `write(items) -> one outcome per item, in order`, and returns its outcome (or raises its
    error) once that write has ended."""

    def __init__(
        self,
        write: Callable[[Sequence[Item]], Sequence[Outcome]],
        alone_on: tuple[type[Exception], ...] = (),
    ) -> None:
        self._write = write
        self._alone_on = alone_on
        self._lock = threading.Lock()  # held for the queue's bookkeeping only, never to write
        self._waiting: list[_Waiter[Item, Outcome]] = []
        self._writing = False  # a caller is writing a batch now, or is woken to write the next

    def submit(self, item: Item) -> Outcome:
        waiter: _Waiter[Item, Outcome] = _Waiter(item)
        with self._lock:
            self._waiting.append(waiter)
            writes = not self._writing
            self._writing = True
        if not writes:
            try:
                waiter.woken.wait()
            except BaseException:  # killed while waiting: its turn to write goes to another
                self._hand_over([], waiter, was_writer=False)
                raise
            if not waiter.writes_next:
                return waiter.result()
        return self._write_waiting(waiter)

    def _write_waiting(self, waiter: _Waiter[Item, Outcome]) -> Outcome:
        """As the writer: every item waiting now, `waiter`'s among them, in one write."""
        batch: list[_Waiter[Item, Outcome]] = []
        try:
            # The callers ready to run now (their Docker calls answered) reach submit before
            # the batch is taken: one yield to them saves each a transaction of its own.
            time.sleep(0)
            with self._lock:
                batch, self._waiting = self._waiting, []
            self._write_batch(batch)
        except BaseException as error:
            for other in batch:
                if not other.done:
                    other.failed(error if other is waiter else _copy_of(error))
            raise
        finally:
            self._hand_over(batch, waiter, was_writer=True)
        return waiter.result()

    def _write_batch(self, batch: list[_Waiter[Item, Outcome]]) -> None:
        try:
            outcomes = self._write([waiter.item for waiter in batch])
        except self._alone_on:
            if len(batch) == 1:
                raise
            for waiter in batch:  # the error may be one item's: each alone, its own outcome
                self._write_alone(waiter)
            return
        for waiter, outcome in zip(batch, outcomes, strict=True):
            waiter.succeeded(outcome)

    def _write_alone(self, waiter: _Waiter[Item, Outcome]) -> None:
        try:
            (outcome,) = self._write([waiter.item])
        except Exception as error:
            waiter.failed(error)
        else:
            waiter.succeeded(outcome)

    def _hand_over(
        self, batch: list[_Waiter[Item, Outcome]], leaving: _Waiter, *, was_writer: bool
    ) -> None:
        """The batch's callers woken to their outcomes and, when `leaving` (a caller that goes,
        its item written or not: killed while it waited, or before it took its batch) had the
        turn to write, the first caller still waiting woken to write the next batch."""
        with self._lock:
            if leaving in self._waiting:
                self._waiting.remove(leaving)
            if was_writer or leaving.writes_next:
                next_writer = self._waiting[0] if self._waiting else None
                if next_writer is None:
                    self._writing = False
                else:
                    next_writer.writes_next = True
            else:
                next_writer = None
        for waiter in batch:
            waiter.woken.set()
        if next_writer is not None:
            next_writer.woken.set()


def _copy_of(error: BaseException) -> BaseException:
    """The error as each caller's own, so that their tracebacks do not pile up on one object:
    of the same type and arguments, caused by the original (the original itself when it cannot
    be made again from its arguments)."""
    try:
        copy = type(error)(*error.args)
    except Exception:
        return error
    copy.__cause__ = error
    return copy
