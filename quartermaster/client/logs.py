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
# The longest piece of a line given at once: a longer line (a \r progress bar, binary output)
# comes in pieces, so it is neither held whole nor searched again as it grows.
MAX_LINE_BYTES = 64 * 1024
_TIMESTAMP = re.compile(rb"(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(?:\.(\d{1,9}))?Z\Z")

# open_log(since, follow) -> the body's chunks; since is a UNIX time as text, or None.
LogOpener = Callable[[str | None, bool], Iterable[bytes]]


def lines_of(chunks: Iterable[bytes]) -> Iterator[bytes]:
    """The lines of a body arriving in chunks, each as soon as it is whole, with its b"\\n"
    (the last may have none). A line longer than MAX_LINE_BYTES (a progress bar redrawn with
    \\r, binary output) comes in pieces of at most MAX_LINE_BYTES, each as soon as it is full;
    the last piece has the newline."""
    for piece, _ in line_pieces(chunks):
        yield piece


def line_pieces(chunks: Iterable[bytes]) -> Iterator[tuple[bytes, bool]]:
    """`lines_of`'s pieces, each with whether it begins a line. Linear in the bytes read: each
    byte is searched for a newline once, and at most MAX_LINE_BYTES are held between chunks."""
    pending = bytearray()
    begins_a_line = True
    for chunk in chunks:
        searched = len(pending)  # the bytes held hold no newline
        pending += chunk
        start = 0
        newline = pending.find(b"\n", searched)
        while True:
            if newline != -1 and newline - start < MAX_LINE_BYTES:
                end = newline + 1
            elif len(pending) - start > MAX_LINE_BYTES:  # the byte after the cut is known
                end = _character_end(pending, start + MAX_LINE_BYTES)
            else:
                break
            yield bytes(pending[start:end]), begins_a_line
            begins_a_line = end == newline + 1
            start = end
            if begins_a_line:
                newline = pending.find(b"\n", start)
        del pending[:start]
    if pending:
        yield bytes(pending), begins_a_line


def _character_end(data: bytearray, end: int) -> int:
    """`end`, or up to 3 bytes before it so that a UTF-8 character is not cut in two."""
    earliest = end - 3
    while end > earliest and data[end] & 0xC0 == 0x80:  # a continuation byte
        end -= 1
    return end


@dataclass
class _Position:
    """Where a followed log is: the time of the last line begun, how many lines begun had that
    very time (the next stream repeats them), and how many bytes of that line were given (a
    long line comes in pieces, and a stream may break between them)."""

    at: int | None = None
    given_at_that_time: int = 0
    bytes_given: int = 0
    line_ended: bool = True

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

    def is_unfinished(self, at: int, seen_at_that_time: int) -> bool:
        """The line begun last, whose end was not given yet."""
        return (
            not self.line_ended and at == self.at and seen_at_that_time == self.given_at_that_time
        )

    def begin(self, at: int) -> None:
        self.given_at_that_time = self.given_at_that_time + 1 if at == self.at else 1
        self.at = at
        self.bytes_given = 0
        self.line_ended = False

    def gave(self, piece: bytes) -> None:
        self.bytes_given += len(piece)
        self.line_ended = piece.endswith(b"\n")


def followed_lines(
    open_log: LogOpener, job_is_final: Callable[[], bool], timestamps: bool
) -> Iterator[bytes]:
    """A followed log's lines (a long one in pieces, as `lines_of`) until its job is final,
    opened again after each silence, break or cut. `open_log` must ask for timestamps; they
    are taken off unless `timestamps`."""
    position = _Position()
    failures = 0
    follow = True
    while True:
        given = 0
        try:
            for piece in _new_pieces(open_log(position.since(), follow), position, timestamps):
                given += 1
                yield piece
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


def _new_pieces(chunks: Iterable[bytes], position: _Position, timestamps: bool) -> Iterator[bytes]:
    """The pieces of lines not given yet (the timestamp taken off a line's first piece unless
    `timestamps`); `position` moves with each one given."""
    seen_at: dict[int, int] = {}
    placed = False  # the line being read has a timestamp: `position` counts its bytes
    skip: int | None = 0  # bytes of the line being read given before; None: all of it
    for piece, begins_a_line in line_pieces(chunks):
        if begins_a_line:
            at = _nanos_of(piece.partition(b" ")[0])
            placed, skip = at is not None, 0
            if at is not None:
                seen_at[at] = seen_at.get(at, 0) + 1
                if position.is_new(at, seen_at[at]):
                    position.begin(at)
                elif position.is_unfinished(at, seen_at[at]):
                    skip = position.bytes_given
                else:
                    skip = None
        if skip is None:
            continue
        if skip >= len(piece):
            skip -= len(piece)
            continue
        if placed:
            position.gave(piece[skip:])
        if skip == 0 and begins_a_line and not timestamps:
            yield piece.partition(b" ")[2]
        else:
            yield piece[skip:]
        skip = 0


def _nanos_of(stamp: bytes) -> int | None:
    match = _TIMESTAMP.match(stamp)
    if match is None:
        return None
    *fields, fraction = match.groups()
    whole = calendar.timegm(tuple(map(int, fields)))
    return whole * 10**9 + int((fraction or b"0").ljust(9, b"0"))
