"""One Docker client per process, created on first use, and Docker errors translated.

gunicorn forks its workers from a master; a client (its connection pool and sockets) made before
the fork would be shared by every worker. So the client is created lazily, in the process that uses
it, and made anew if the process id changes. A failed creation is not cached: when Docker comes
back, the next request connects again without a restart.

Creating the client asks Docker for its API version (one round trip). One caller makes that
attempt and the callers that need a client meanwhile wait for its outcome, each for at most the
Docker timeout; no lock is held across the round trip. With Docker hung, every request then fails
within one timeout, instead of each waiting for the attempts of all the requests before it.

Every Engine API call, docker-py's and the socket reads', takes a slot of one `CallGate` per
process: at most `pool_size` calls in flight to Docker.
"""

import contextlib
import os
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout

import docker
import requests

from quartermaster.jobs.errors import (
    DockerRejected,
    DockerUnavailable,
    JobNotFound,
    NameConflict,
    NotASwarmManager,
)
from quartermaster.process import metrics
from quartermaster.swarm.call_gate import CallGate
from quartermaster.swarm.socket_reads import SocketReads, unix_socket_path

# Engine API calls in flight to Docker per process, and connections kept open to it. A call
# beyond that waits for a slot, within its timeout.
POOL_SIZE = 64


class GatedAPIClient(docker.APIClient):
    """docker-py's low-level client, each request within a slot of the process's gate (for a
    stream: until its headers came) and within the timeout from when it was asked for."""

    def __init__(self, gate: CallGate, **kwargs):
        self._gate = gate
        super().__init__(**kwargs)

    def send(self, request, **kwargs):
        timeout = kwargs.get("timeout")
        if not isinstance(timeout, int | float):
            timeout = self.timeout  # docker-py gives every call one: never send one unbounded
        with self._gate.call(timeout) as seconds_left:
            return super().send(request, **{**kwargs, "timeout": seconds_left})


class DockerConnection:
    def __init__(self, docker_host: str | None, timeout: float, pool_size: int = POOL_SIZE):
        self._docker_host = docker_host
        self._timeout = timeout
        self._pool_size = pool_size
        self._lock = threading.Lock()  # never held across a round trip to Docker
        self._forget_process_state()

    def _forget_process_state(self) -> None:
        self._gate = CallGate(self._pool_size)
        self._api: GatedAPIClient | None = None
        self._reads: SocketReads | docker.APIClient | None = None
        self._background: ThreadPoolExecutor | None = None
        self._attempt: Future | None = None  # the connection attempt in flight, if any
        self._pid = os.getpid()  # of the process these belong to

    @property
    def api(self) -> docker.APIClient:
        """The low-level client: plain Engine API calls, JSON in and out."""
        return self._get()

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

    def _get(self) -> GatedAPIClient:
        api = self._api
        if api is not None and self._pid == os.getpid():
            return api
        with self._lock:
            if self._pid != os.getpid():
                self._forget_process_state()  # forked: the parent's client is not ours
            if self._api is not None:
                return self._api
            attempt, mine = self._attempt, self._attempt is None
            if mine:
                attempt = self._attempt = Future()
        if mine:
            return self._make_client(attempt)
        try:
            return attempt.result(timeout=self._timeout)
        except FutureTimeout:
            metrics.docker_errors.labels("unreachable").inc()
            raise DockerUnavailable("Docker is unreachable") from None

    def _make_client(self, attempt: Future) -> GatedAPIClient:
        """Connect, and settle `attempt` with the client or the error for the other callers."""
        try:
            with translate_errors():
                api = self._connect()
            reads = self._socket_reads(api) or api
        except BaseException as error:
            with self._lock:
                self._attempt = None  # the next call tries again
            shared = error if isinstance(error, Exception) else DockerUnavailable("interrupted")
            attempt.set_exception(shared)
            raise
        with self._lock:
            self._api, self._reads = api, reads
            self._background = ThreadPoolExecutor(self._pool_size, "docker")
            self._attempt = None
        attempt.set_result(api)
        return api

    def _connect(self) -> GatedAPIClient:
        # As docker.from_env: DOCKER_HOST, DOCKER_TLS_VERIFY and DOCKER_CERT_PATH apply.
        environment = dict(os.environ)
        if self._docker_host:
            environment["DOCKER_HOST"] = self._docker_host
        api = GatedAPIClient(
            self._gate,
            timeout=self._timeout,
            max_pool_size=self._pool_size,
            **docker.utils.kwargs_from_env(environment=environment),
        )
        # Proxy and CA settings from the environment mean nothing for a Docker socket, and
        # requests would read the whole environment again on every call to find them.
        api.trust_env = False
        api.hooks["response"].append(_measure)
        return api

    def _socket_reads(self, api: docker.APIClient) -> SocketReads | None:
        path = unix_socket_path(self._docker_host or os.environ.get("DOCKER_HOST"))
        if path is None:
            return None
        return SocketReads(path, api.api_version, self._timeout, self._pool_size, self._gate)


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
