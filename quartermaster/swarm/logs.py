"""A job's logs as a stream of byte chunks, never buffered whole.

Docker keeps a followed service log open after the job ends (it waits for more tasks), so a
watcher checks the job every second and, once it is final and its last lines had time to arrive,
shuts the stream's socket down; also when the server is stopping. Closing the stream (the client
went away) stops the watcher.
"""

import contextlib
import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import requests
import urllib3

from .. import lifecycle

POLL_SECONDS = 1.0
FINAL_GRACE_SECONDS = 1.0


@dataclass(frozen=True)
class LogOptions:
    follow: bool = False
    tail: int | None = None  # None: every line
    since: float | None = None  # UNIX time
    timestamps: bool = False
    stdout: bool = True
    stderr: bool = True


def open_log_stream(
    api, service_id: str, options: LogOptions, is_finished: Callable[[], bool]
) -> Iterator[bytes]:
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
    response = api._get(api._url("/services/{0}/logs", service_id), params=params, stream=True)
    api._raise_for_status(response)
    return _chunks(api, response, options.follow, is_finished)


def _chunks(api, response, follow: bool, is_finished: Callable[[], bool]) -> Iterator[bytes]:
    raw_socket = api._get_raw_response_socket(response)
    stop = threading.Event()
    if follow:
        watcher = threading.Thread(
            target=_end_when_finished, args=(is_finished, stop, raw_socket), daemon=True
        )
        watcher.start()
    try:
        yield from api._multiplexed_response_stream_helper(response)
    except (OSError, requests.RequestException, urllib3.exceptions.HTTPError):
        pass  # the socket was shut down under the read: the stream is over
    finally:
        stop.set()
        _shutdown(raw_socket)
        response.close()


def _end_when_finished(is_finished: Callable[[], bool], stop: threading.Event, raw_socket):
    while not stop.wait(POLL_SECONDS):
        if lifecycle.stopping.is_set():
            break  # the server is stopping: end the stream now, not at the grace period's end
        try:
            finished = is_finished()
        except Exception:  # the job is gone, or Docker is: either way the stream is over
            finished = True
        if finished:
            stop.wait(FINAL_GRACE_SECONDS)
            break
    _shutdown(raw_socket)


def _shutdown(raw_socket) -> None:
    sock = getattr(raw_socket, "_sock", raw_socket)  # a socket, or the SocketIO around one
    if sock is None:  # already closed
        return
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
