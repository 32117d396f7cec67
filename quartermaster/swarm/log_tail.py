"""`tail` counted in the lines of the one stream asked for.

Docker counts a log's `tail` over stdout and stderr together and only then keeps the stream asked
for, so `tail=5&stream=stdout` of a job whose last five lines went to stderr would be empty. For
one stream, quartermaster asks Docker for both and counts the lines itself: it reads (without
following) the last M lines of both streams, M doubling from `tail`, until they hold `tail` lines
of the stream asked for or all of the log; then it opens the log with that M and drops the lines
of the stream beyond `tail` before the first it sends. Lines are counted, never kept.

(A job that prints between the count and the opening shifts the window by those lines.)
"""

import struct
from collections.abc import Callable, Iterator
from dataclasses import dataclass

STDOUT, STDERR = 1, 2  # the stream byte of Docker's multiplexed log frames
_FRAME_HEADER = struct.Struct(">BxxxL")
# Far beyond any `tail` a client may ask for (9 digits): the doubling stops here.
MAX_DOCKER_TAIL = 2**31


@dataclass(frozen=True)
class StreamTail:
    docker_tail: int  # lines of both streams to ask Docker for
    skip: int  # lines of the stream asked for to drop before the first one sent


def plan_tail(count_lines: Callable[[int], tuple[int, int]], tail: int) -> StreamTail:
    """`count_lines(m)`: (lines of the stream asked for, lines of both) among the last m lines of
    both streams. Stops when there are enough, or Docker gave all there is: fewer lines than asked
    for, or no more than for half as many (a job of several runs gives m lines per run)."""
    asked, previous_total = max(tail, 1), -1
    while True:
        kept, total = count_lines(asked)
        exhausted = total < asked or total == previous_total or asked >= MAX_DOCKER_TAIL
        if kept >= tail or exhausted:
            return StreamTail(asked, max(kept - tail, 0))
        previous_total, asked = total, asked * 2


def frames(read: Callable[[int], bytes]) -> Iterator[tuple[int, bytes]]:
    """(stream, payload) of each frame of a multiplexed log, read with `read(n)`."""
    while len(header := read(_FRAME_HEADER.size)) == _FRAME_HEADER.size:
        stream, length = _FRAME_HEADER.unpack(header)
        if not length:
            continue
        payload = read(length)
        if not payload:
            return
        yield stream, payload


def count_lines(read: Callable[[int], bytes], stream: int) -> tuple[int, int]:
    """(lines of `stream`, lines of both) in a whole multiplexed log."""
    kept = total = 0
    for frame_stream, payload in frames(read):
        lines = payload.count(b"\n")
        total += lines
        kept += lines if frame_stream == stream else 0
    return kept, total


def one_stream(chunks: Iterator[tuple[int, bytes]], stream: int, skip: int) -> Iterator[bytes]:
    """The payloads of `stream`, without its first `skip` lines."""
    for frame_stream, payload in chunks:
        if frame_stream != stream:
            continue
        while skip and payload:
            line_end = payload.find(b"\n")
            if line_end < 0:
                payload = b""  # the rest of a line being skipped
                break
            payload, skip = payload[line_end + 1 :], skip - 1
        if payload:
            yield payload
