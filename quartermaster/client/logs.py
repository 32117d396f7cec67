"""A job's log as lines, and a followed log that outlasts dropped connections.

The server sends nothing while a followed job is silent, and a follow ends by itself after the
server's FOLLOW_MAX_SECONDS or when the server restarts. So a follow here reads with an ordinary
read timeout (FOLLOW_READ_SECONDS), asks for the lines with their timestamps, and whenever the
stream ends while the job is not final (timed out, broken or cut), opens it again from the last
line's time (`since`), leaving out the lines it already gave. A caller sees one stream of lines
that ends when the job does, however long the job is silent.
"""

import calendar
import re
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from quartermaster.client.errors import ConnectionFailed

FOLLOW_READ_SECONDS = 60.0  # silence after which a follow is opened again
RESUME_PAUSE_SECONDS = 1.0  # before opening again a follow that ended with its job still live
# Follows in a row that broke before giving any line (each after a pause twice the last): the
# server is away.
MAX_FAILED_RESUMES = 5
# `since` is a UNIX time the server reads as a float (about 0.2 µs apart at today's times): asked
# from a microsecond before the last line, so the line itself is surely included, and skipped.
SINCE_MARGIN_NANOS = 1_000
_TIMESTAMP = re.compile(rb"(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(?:\.(\d{1,9}))?Z\Z")

# open_log(since, follow) -> the body's chunks; since is a UNIX time as text, or None.
LogOpener = Callable[[str | None, bool], Iterable[bytes]]


def lines_of(chunks: Iterable[bytes]) -> Iterator[bytes]:
    """The lines of a body arriving in chunks, each as soon as it is whole, with its b"\\n"
    (the last may have none)."""
    pending = b""
    for chunk in chunks:
        pending += chunk
        *whole, pending = pending.split(b"\n")
        for line in whole:
            yield line + b"\n"
    if pending:
        yield pending


@dataclass
class _Position:
    """Where a followed log is: the time of the last line given, and how many lines given had
    that very time (the next stream repeats them)."""

    at: int | None = None
    given_at_that_time: int = 0

    def since(self) -> str | None:
        if self.at is None:
            return None
        whole, nanos = divmod(max(0, self.at - SINCE_MARGIN_NANOS), 10**9)
        return f"{whole}.{nanos:09d}"

    def is_new(self, at: int, seen_at_that_time: int) -> bool:
        return (
            self.at is None
            or at > self.at
            or (at == self.at and seen_at_that_time > self.given_at_that_time)
        )

    def advance(self, at: int) -> None:
        self.given_at_that_time = self.given_at_that_time + 1 if at == self.at else 1
        self.at = at


def followed_lines(
    open_log: LogOpener, job_is_final: Callable[[], bool], timestamps: bool
) -> Iterator[bytes]:
    """A followed log's lines until its job is final, opened again after each silence, break
    or cut. `open_log` must ask for timestamps; they are taken off unless `timestamps`."""
    position = _Position()
    failures = 0
    follow = True
    while True:
        given = 0
        try:
            for line in _new_lines(open_log(position.since(), follow), position):
                given += 1
                yield line if timestamps else line.partition(b" ")[2]
            ended_by_the_server = True
            failures = 0
        except ConnectionFailed:
            failures = 0 if given else failures + 1
            if failures >= MAX_FAILED_RESUMES:
                raise
            ended_by_the_server = False
        if not follow:
            return
        if job_is_final():
            if ended_by_the_server:
                return
            follow = False  # once more, to its end: the lines after the break
            continue
        time.sleep(RESUME_PAUSE_SECONDS * 2**failures)


def _new_lines(chunks: Iterable[bytes], position: _Position) -> Iterator[bytes]:
    """The lines not given yet; `position` moves with each one given."""
    seen_at: dict[int, int] = {}
    for line in lines_of(chunks):
        at = _nanos_of(line.partition(b" ")[0])
        if at is None:  # not a timestamped line: nothing to place it by
            yield line
            continue
        seen_at[at] = seen_at.get(at, 0) + 1
        if position.is_new(at, seen_at[at]):
            position.advance(at)
            yield line


def _nanos_of(stamp: bytes) -> int | None:
    match = _TIMESTAMP.match(stamp)
    if match is None:
        return None
    *fields, fraction = match.groups()
    whole = calendar.timegm(tuple(map(int, fields)))
    return whole * 10**9 + int((fraction or b"0").ljust(9, b"0"))
