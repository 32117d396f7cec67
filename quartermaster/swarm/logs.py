"""A job's logs as a stream of byte chunks, never buffered whole.

The first chunk is empty: gunicorn sends the response's headers with it, so a client following a
job that prints nothing (pending, or silent) has its answer's headers at once.

A followed stream ends when the job is final (once its last lines had time to arrive), when its
reader went away (noticed within about a second even while nothing is written), when it has
lasted its `max_seconds`, or when the server stops. Docker keeps a followed service log open after
the job ends (it waits for more tasks), so a watcher checks those every second and, once one
holds, shuts the stream's connection down; the job's status comes from the shared poll of
`job_watch.py`. However the stream ends, its Docker connection is closed and the watcher stops.
"""

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass

from quartermaster.jobs.history import LogKeeper, LogLine, parse_log_line
from quartermaster.jobs.logs import LogOptions
from quartermaster.jobs.times import timestamp_of
from quartermaster.swarm.engine import EngineClient, unreachable
from quartermaster.swarm.job_watch import JobWatch
from quartermaster.swarm.log_tail import STDERR, STDOUT, count_lines, frames, one_stream, plan_tail
from quartermaster.swarm.transport import Stream

CHECK_SECONDS = 1.0
FINAL_GRACE_SECONDS = 1.0


@dataclass(frozen=True)
class FollowEnds:
    """What ends a followed stream, besides the server stopping."""

    watching: Callable[[], AbstractContextManager[JobWatch]]  # the job's shared watch
    abandoned: Callable[[], bool]  # the reader went away
    max_seconds: float


def open_log_stream(
    engine: EngineClient, service_id: str, options: LogOptions, ends: FollowEnds
) -> "LogStream":
    """Open the stream now (so errors surface before any byte is sent); read it lazily."""
    params = {
        "follow": options.follow,
        "stdout": options.stdout,
        "stderr": options.stderr,
        "timestamps": options.timestamps,
        "tail": "all" if options.tail is None else str(options.tail),
    }
    if options.since is not None:
        params["since"] = f"{options.since:.9f}"
    stream = _the_one_stream_tailed(options)
    if stream is None or options.tail is None:
        return LogStream(engine.service_logs(service_id, params), ends if options.follow else None)
    # Docker would count `tail` over both streams: both are read, and the lines counted here.
    both = {**params, "stdout": True, "stderr": True}
    counted = plan_tail(
        lambda lines: _count_lines(
            engine, service_id, {**both, "follow": False, "tail": lines}, stream
        ),
        options.tail,
    )
    log = engine.service_logs(service_id, {**both, "tail": str(counted.docker_tail)})
    return LogStream(log, ends if options.follow else None, only=(stream, counted.skip))


def capture_log(engine: EngineClient, service_id: str, max_bytes: int) -> LogKeeper:
    """The job's whole log as it stands, both streams, timestamped; the newest `max_bytes` kept
    (read a frame at a time: memory stays within the cap whatever the job printed)."""
    params = {"follow": False, "stdout": True, "stderr": True, "timestamps": True, "tail": "all"}
    log = engine.service_logs(service_id, params)
    keeper = LogKeeper(max_bytes)
    try:
        for stream, payload in frames(log.read):
            # A frame is one message: a line, or a piece of a long one (Docker cuts at 16 KiB).
            for line in payload.splitlines(keepends=True):
                keeper.add(_log_line(stream, line, keeper))
    except OSError as error:  # each read within the Docker timeout
        raise unreachable() from error
    finally:
        log.close()
    return keeper


def _log_line(stream: int, line: bytes, keeper: LogKeeper) -> LogLine:
    try:
        return parse_log_line(stream, line)
    except ValueError:  # not timestamped (never seen): the time of the line before it
        at = keeper.lines[-1].at if keeper.lines else 0
        return LogLine(stream, timestamp_of(at).encode() + b" " + line)


def _the_one_stream_tailed(options: LogOptions) -> int | None:
    """The stream asked for, when only one is and its last lines are (`tail` above 0)."""
    if not options.tail or options.stdout == options.stderr:
        return None
    return STDOUT if options.stdout else STDERR


def _count_lines(
    engine: EngineClient, service_id: str, params: dict, stream: int
) -> tuple[int, int]:
    log = engine.service_logs(service_id, params)
    try:
        return count_lines(log.read, stream)
    except OSError as error:  # each read within the Docker timeout
        raise unreachable() from error
    finally:
        log.close()


class LogStream:
    """The chunks of one log stream. `close()` (the WSGI server calls it at the end of the
    response, read or not) ends the watcher and closes the Docker connection."""

    def __init__(self, log: Stream, ends: FollowEnds | None, only: tuple[int, int] | None = None):
        """`only`: (stream, lines to skip) to pass one stream on, without its first lines."""
        self._log = log
        log.without_timeout()  # a follow may be silent for long
        if only is None:
            self._chunks: Iterator[bytes] = (payload for _, payload in frames(log.read))
        else:
            self._chunks = one_stream(frames(log.read), *only)
        self._headers_sent = False
        self._closed = threading.Event()
        if ends is not None:
            threading.Thread(
                target=_end_when_over, args=(ends, self._closed, log), daemon=True
            ).start()

    def __iter__(self) -> "LogStream":
        return self

    def __next__(self) -> bytes:
        if not self._headers_sent:
            self._headers_sent = True
            return b""  # gunicorn writes the headers with the first chunk, even an empty one
        try:
            return next(self._chunks)
        except OSError:
            pass  # the connection was shut down under the read: the stream is over
        except StopIteration:
            pass
        self.close()
        raise StopIteration

    def close(self) -> None:
        if self._closed.is_set():
            return
        self._closed.set()
        self._log.shutdown()
        self._log.close()


def _end_when_over(ends: FollowEnds, closed: threading.Event, log: Stream) -> None:
    deadline = time.monotonic() + ends.max_seconds
    with ends.watching() as watch:
        while not closed.is_set():
            if watch.ended.wait(CHECK_SECONDS):
                if watch.is_final:
                    closed.wait(FINAL_GRACE_SECONDS)  # its last lines are on their way
                break
            if ends.abandoned() or time.monotonic() >= deadline:
                break
    log.shutdown()
