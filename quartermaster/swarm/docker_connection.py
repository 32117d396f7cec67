"""One Docker client per process, created on first use.

gunicorn forks its workers from a master; a client (its kept-alive connections) made before the
fork would be shared by every worker. So the client is created lazily, in the process that uses
it, and made anew if the process id changes. A failed creation is not cached: when Docker comes
back, the next request connects again without a restart.

Creating the client asks Docker for its API version (one round trip). One caller makes that
attempt and the callers that need a client meanwhile wait for its outcome, each for at most the
Docker timeout; no lock is held across the round trip. With Docker hung, every request then fails
within one timeout, instead of each waiting for the attempts of all the requests before it.
"""

import os
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from typing import TypeVar

from quartermaster.jobs.errors import DockerUnavailable
from quartermaster.swarm.call_gate import CallGate
from quartermaster.swarm.engine import EngineClient, unreachable
from quartermaster.swarm.transport import Transport, transport_for

# Engine API calls in flight to Docker per process, and connections kept open to it. A call
# beyond that waits for a slot, within its timeout.
POOL_SIZE = 64

T = TypeVar("T")


class DockerConnection:
    def __init__(self, docker_host: str | None, timeout: float, pool_size: int = POOL_SIZE):
        """`docker_host`: as DOCKER_HOST (None: DOCKER_HOST itself, else the default socket)."""
        self._docker_host = docker_host
        self._timeout = timeout
        self._pool_size = pool_size
        self._lock = threading.Lock()  # never held across a round trip to Docker
        self._forget_process_state()

    def _forget_process_state(self) -> None:
        self._gate = CallGate(self._pool_size)
        self._engine: EngineClient | None = None
        self._background: ThreadPoolExecutor | None = None
        self._attempt: Future | None = None  # the connection attempt in flight, if any
        self._pid = os.getpid()  # of the process these belong to

    @property
    def engine(self) -> EngineClient:
        """This process's client: every Engine API call goes through it."""
        engine = self._engine
        if engine is not None and self._pid == os.getpid():
            return engine
        with self._lock:
            if self._pid != os.getpid():
                self._forget_process_state()  # forked: the parent's client is not ours
            if self._engine is not None:
                return self._engine
            waiting_for = self._attempt
            if waiting_for is None:
                attempt = self._attempt = Future()
        if waiting_for is None:
            return self._make_client(attempt)
        try:
            return waiting_for.result(timeout=self._timeout)
        except FutureTimeout:
            raise unreachable() from None

    def in_background(self, call: Callable[[EngineClient], T]) -> "Future[T]":
        """Start `call(engine)` beside the caller (a greenlet under gevent workers); its future."""
        engine = self.engine
        with self._lock:
            background = self._background
        assert background is not None  # made with the client
        return background.submit(call, engine)

    def _make_client(self, attempt: Future) -> EngineClient:
        """Connect, and settle `attempt` with the client or the error for the other callers."""
        try:
            engine = EngineClient.connect(self._transport(), self._gate, self._timeout)
        except BaseException as error:
            with self._lock:
                self._attempt = None  # the next call tries again
            shared = error if isinstance(error, Exception) else DockerUnavailable("interrupted")
            attempt.set_exception(shared)
            raise
        with self._lock:
            self._engine = engine
            self._background = ThreadPoolExecutor(self._pool_size, "docker")
            self._attempt = None
        attempt.set_result(engine)
        return engine

    def _transport(self) -> Transport:
        try:
            return transport_for(self._docker_host, self._pool_size)
        except OSError as error:
            raise unreachable() from error
