"""How a request reaches Docker: bytes on a connection, nothing of the Engine API.

Docker listens on a Unix socket wherever quartermaster is deployed: there, requests go as plain
HTTP/1.1 on kept-alive connections (`unix_socket_transport.py`), for the speed of the hot paths.
Any other Docker host (tcp://, with TLS from DOCKER_TLS_VERIFY and DOCKER_CERT_PATH; ssh://) is
reached through docker-py, which knows how to set those up from the environment as the docker
CLI does (`docker_py_transport.py`).

Both offer the same two things: an exchange (a request and its whole answer) and a stream (a GET
whose answer is read as it comes, and can be shut down from another thread). Every way of getting
no answer, or one that is not HTTP, is an `OSError`: a `ConnectionError` saying what went wrong,
or a timeout.
"""

import os
from collections.abc import Mapping
from typing import Protocol

from quartermaster.swarm.unix_socket_transport import UnixSocketTransport

UNIX_PREFIX = "unix://"
DEFAULT_DOCKER_HOST = "unix:///var/run/docker.sock"  # docker-py's and the docker CLI's default


class Stream(Protocol):
    """An answer whose head has come and whose body is read as it comes."""

    status: int

    def read(self, size: int) -> bytes:
        """`size` bytes of the body, fewer only at its end."""

    def read_some(self, size: int) -> bytes:
        """At most `size` bytes of the body, as soon as some have come (an event stream's
        event: Docker sends each in one piece); empty only at its end."""

    def read_all(self) -> bytes:
        """The rest of the body."""

    def without_timeout(self) -> None:
        """From now on, a read waits as long as the body is silent."""

    def shutdown(self) -> None:
        """End the connection from any thread: a read blocked on it returns."""

    def close(self) -> None: ...


class Transport(Protocol):
    def exchange(
        self,
        method: str,
        target: str,
        body: bytes | None,
        headers: Mapping[str, str],
        timeout: float,
    ) -> tuple[int, bytes]:
        """Send a request; its answer's status and whole body. Each step (connecting, sending,
        each read) within `timeout`."""

    def open_stream(self, target: str, timeout: float) -> Stream:
        """Send a GET; its answer once its head has come (within `timeout`)."""


def transport_for(docker_host: str | None, pool_size: int) -> Transport:
    """The transport to `docker_host` (None: DOCKER_HOST, else the default socket)."""
    docker_host = docker_host or os.environ.get("DOCKER_HOST")
    path = unix_socket_path(docker_host)
    if path is not None:
        return UnixSocketTransport(path, pool_size)
    # docker-py (and requests under it: 6 MB a process) only for the hosts that need it.
    from quartermaster.swarm.docker_py_transport import DockerPyTransport

    return DockerPyTransport(docker_host, pool_size)


def unix_socket_path(docker_host: str | None) -> str | None:
    """The socket file of a `unix://` Docker host (the default one when unset); else None."""
    host = docker_host or DEFAULT_DOCKER_HOST
    if not host.startswith(UNIX_PREFIX):
        return None
    return "/" + host[len(UNIX_PREFIX) :].lstrip("/")
