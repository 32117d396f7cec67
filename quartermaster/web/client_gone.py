"""Whether the client of a long request went away, asked while nothing is written to it.

A request waiting on a job (`?wait`, a followed log of a silent job) writes nothing for long, so
it would never notice its client leave. gunicorn puts the client's socket in the WSGI environ;
`gone()` looks at it without reading or waiting: readable with nothing to read means the client
closed its end (a client that only shut its sending side down counts as gone too).
"""

import select
import socket
from collections.abc import Callable

from gevent.monkey import get_original

# The system's poll, not gevent's: this must not wait, and a poll of zero seconds under gevent's
# never sees an event. (select() would fail past file descriptor 1023.)
_system_poll = get_original("select", "poll")
_CLOSED = select.POLLHUP | select.POLLERR | select.POLLNVAL


def departure_check(environ: dict) -> Callable[[], bool]:
    """A function telling whether the client of this request is gone; never, when the server
    gives no socket."""
    sock = environ.get("gunicorn.socket")
    if sock is None:
        return lambda: False

    def gone() -> bool:
        try:
            poller = _system_poll()
            poller.register(sock.fileno(), select.POLLIN)
            events = poller.poll(0)
            if not events:
                return False
            if events[0][1] & _CLOSED:
                return True
            return sock.recv(1, socket.MSG_PEEK) == b""  # readable: returns at once
        except (OSError, ValueError):  # reset, or already closed
            return True

    return gone
