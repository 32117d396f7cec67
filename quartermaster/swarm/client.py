"""One Docker client per process, created on first use, and Docker errors translated.

gunicorn forks its workers from a master; a client (its connection pool and sockets) made before
the fork would be shared by every worker. So the client is created lazily, in the process that uses
it, and made anew if the process id changes. A failed creation is not cached: when Docker comes
back, the next request connects again without a restart.
"""

import contextlib
import os
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor

import docker
import requests

from .. import metrics
from .errors import DockerRejected, DockerUnavailable, JobNotFound, NameConflict, NotASwarmManager
from .socket_reads import SocketReads, unix_socket_path

# Connections kept open to Docker per process. Requests beyond that still run; their connections
# are closed after use instead of kept.
POOL_SIZE = 64


class DockerConnection:
    def __init__(self, docker_host: str | None, timeout: float, pool_size: int = POOL_SIZE):
        self._docker_host = docker_host
        self._timeout = timeout
        self._pool_size = pool_size
        self._lock = threading.Lock()
        self._client: docker.DockerClient | None = None
        self._reads: SocketReads | docker.APIClient | None = None
        self._background: ThreadPoolExecutor | None = None
        self._pid: int | None = None

    @property
    def api(self) -> docker.APIClient:
        """The low-level client: plain Engine API calls, JSON in and out."""
        return self._get().api

    @property
    def reads(self) -> SocketReads | docker.APIClient:
        """For reads (inspect, lists, info): plain HTTP on a Unix socket, else docker-py."""
        self._get()
        return self._reads

    def in_background(self, call: Callable[[SocketReads | docker.APIClient], object]) -> Future:
        """Start `call(reads)` beside the caller (a greenlet under gevent workers); its future."""
        reads = self.reads
        with self._lock:
            return self._background.submit(call, reads)

    def _get(self) -> docker.DockerClient:
        with self._lock:
            if self._client is None or self._pid != os.getpid():
                with translate_errors():
                    self._client = self._connect()
                self._reads = self._socket_reads(self._client.api) or self._client.api
                self._background = ThreadPoolExecutor(self._pool_size, "docker")
                self._pid = os.getpid()
            return self._client

    def _connect(self) -> docker.DockerClient:
        # from_env also applies DOCKER_TLS_VERIFY and DOCKER_CERT_PATH to the configured host.
        environment = dict(os.environ)
        if self._docker_host:
            environment["DOCKER_HOST"] = self._docker_host
        client = docker.from_env(
            timeout=self._timeout, max_pool_size=self._pool_size, environment=environment
        )
        api = client.api  # a requests.Session
        # Proxy and CA settings from the environment mean nothing for a Docker socket, and
        # requests would read the whole environment again on every call to find them.
        api.trust_env = False
        api.hooks["response"].append(_measure)
        return client

    def _socket_reads(self, api: docker.APIClient) -> SocketReads | None:
        path = unix_socket_path(self._docker_host or os.environ.get("DOCKER_HOST"))
        if path is None:
            return None
        return SocketReads(path, api.api_version, self._timeout, self._pool_size)


def _measure(response, **kwargs):
    call = metrics.docker_call_name(response.request.method, response.request.path_url)
    metrics.docker_duration.labels(call).observe(response.elapsed.total_seconds())
    if response.status_code >= 400:
        metrics.docker_errors.labels(call).inc()


@contextlib.contextmanager
def translate_errors():
    """Turn docker-py and transport errors into `SwarmError`s with client-safe messages."""
    try:
        yield
    except docker.errors.NotFound as error:
        raise JobNotFound(_explanation(error)) from error
    except docker.errors.APIError as error:
        raise _from_api_error(error) from error
    except (docker.errors.DockerException, requests.exceptions.RequestException) as error:
        metrics.docker_errors.labels("unreachable").inc()
        raise DockerUnavailable("Docker is unreachable") from error


def _from_api_error(error: docker.errors.APIError) -> Exception:
    explanation = _explanation(error)
    if error.status_code == 409:
        return NameConflict(explanation)
    if error.status_code == 503 and "swarm" in explanation.lower():
        return NotASwarmManager(explanation)
    if error.status_code is not None and error.status_code >= 500:
        return DockerUnavailable(f"Docker failed: {explanation}")
    return DockerRejected(explanation)


def _explanation(error: docker.errors.APIError) -> str:
    explanation = error.explanation
    if isinstance(explanation, bytes):
        explanation = explanation.decode("utf-8", "replace")
    return str(explanation or error).strip()
