"""The Engine API reads of the hot paths, straight over Docker's Unix socket.

`/status` and `/jobs` are reads: a few GETs each. docker-py sends them through requests, urllib3
and http.client, which costs about 0.4 ms of CPU per call here, more than Docker takes to answer
them. `SocketReads` sends the same GETs as plain HTTP/1.1 on kept-alive Unix socket connections
(about 0.05 ms per call). It has the same methods, arguments and results as docker-py's
`APIClient` for the reads quartermaster makes, and raises docker-py's errors, so callers and
`translate_errors` treat both alike. Writes, logs and Docker hosts other than a Unix socket stay
with docker-py. Each call takes a slot of the process's `CallGate` (shared with docker-py's calls)
and must be over within the timeout from when it was asked for, waiting for a slot included.
"""

import json
import socket
import threading
import time
from urllib.parse import quote, urlencode

import docker
import requests
from docker.utils import convert_filters

from quartermaster.process import metrics
from quartermaster.swarm.call_gate import CallGate

UNIX_PREFIX = "unix://"


def unix_socket_path(docker_host: str | None) -> str | None:
    """The socket file of a `unix://` Docker host (the default one when unset); else None."""
    host = docker_host or docker.constants.DEFAULT_UNIX_SOCKET.replace("http+unix", "unix")
    if not host.startswith(UNIX_PREFIX):
        return None
    return "/" + host[len(UNIX_PREFIX) :].lstrip("/")


class SocketReads:
    def __init__(
        self,
        path: str,
        api_version: str,
        timeout: float,
        pool_size: int,
        gate: CallGate | None = None,
    ):
        self._path = path
        self._prefix = f"/v{api_version}"
        self._timeout = timeout
        self._pool_size = pool_size
        self._gate = gate or CallGate(pool_size)
        self._idle: list[_Connection] = []
        self._lock = threading.Lock()

    # The reads quartermaster makes, as docker-py's APIClient names them.

    def info(self) -> dict:
        return self._get("/info")

    def inspect_service(self, service: str) -> dict:
        return self._get(f"/services/{quote(service, safe='')}")

    def services(self, filters: dict | None = None) -> list:
        return self._get("/services", filters)

    def tasks(self, filters: dict | None = None) -> list:
        return self._get("/tasks", filters)

    def nodes(self, filters: dict | None = None) -> list:
        return self._get("/nodes", filters)

    def configs(self, filters: dict | None = None) -> list:
        return self._get("/configs", filters)

    def inspect_config(self, config: str) -> dict:
        return self._get(f"/configs/{quote(config, safe='')}")

    def _get(self, path: str, filters: dict | None = None):
        target = self._prefix + path
        if filters:
            target += "?" + urlencode({"filters": convert_filters(filters)})
        call = metrics.docker_call_name("GET", target)
        started = time.perf_counter()
        try:
            with self._gate.call(self._timeout) as seconds_left:
                status, body = self._round_trip(target, seconds_left)
        except OSError as error:
            raise docker.errors.DockerException(f"Docker is unreachable: {error}") from error
        metrics.docker_duration.labels(call).observe(time.perf_counter() - started)
        if status >= 400:
            metrics.docker_errors.labels(call).inc()
            raise _api_error(status, body)
        try:
            return json.loads(body)
        except ValueError as error:
            raise docker.errors.DockerException("Docker's answer was not JSON") from error

    def _round_trip(self, target: str, timeout: float) -> tuple[int, bytes]:
        """Send on an idle connection if there is one; if Docker closed that one meanwhile
        (a restart), once more on a new one. A GET may be sent twice."""
        request = f"GET {target} HTTP/1.1\r\nHost: docker\r\n\r\n".encode()
        connection = self._take_idle()
        if connection is not None:
            try:
                return self._exchange(connection, request, timeout)
            except _ClosedBeforeAnswer:
                pass
        try:
            return self._exchange(self._connect(timeout), request, timeout)
        except _ClosedBeforeAnswer as error:
            raise ConnectionError("Docker closed the connection without answering") from error

    def _exchange(
        self, connection: "_Connection", request: bytes, timeout: float
    ) -> tuple[int, bytes]:
        try:
            status, body, keep_alive = connection.exchange(request, timeout)
        except BaseException:
            connection.close()
            raise
        if keep_alive:
            self._give_back(connection)
        else:
            connection.close()
        return status, body

    def _connect(self, timeout: float) -> "_Connection":
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(timeout)
        try:
            sock.connect(self._path)
        except OSError:
            sock.close()
            raise
        return _Connection(sock)

    def _take_idle(self) -> "_Connection | None":
        with self._lock:
            return self._idle.pop() if self._idle else None

    def _give_back(self, connection: "_Connection") -> None:
        with self._lock:
            if len(self._idle) < self._pool_size:
                self._idle.append(connection)
                return
        connection.close()


class _ClosedBeforeAnswer(ConnectionError):
    """The connection ended before the first byte of an answer."""


class _Connection:
    """One HTTP/1.1 connection to Docker: a request out, its whole answer in."""

    def __init__(self, sock: socket.socket):
        self._sock = sock
        self._reader = sock.makefile("rb")

    def exchange(self, request: bytes, timeout: float) -> tuple[int, bytes, bool]:
        """Each step (the send, each read) within `timeout`: the gate's time left."""
        self._sock.settimeout(timeout)
        try:
            self._sock.sendall(request)
            status_line = self._reader.readline()
        except (BrokenPipeError, ConnectionResetError) as error:
            raise _ClosedBeforeAnswer() from error
        if not status_line:
            raise _ClosedBeforeAnswer()
        try:
            status = int(status_line.split(b" ", 2)[1])
            headers = self._headers()
            if headers.get(b"transfer-encoding") == b"chunked":
                body = self._chunked_body()
            else:
                body = self._exactly(int(headers.get(b"content-length", b"0")))
        except (ValueError, IndexError) as error:
            raise ConnectionError("Docker's answer was not HTTP") from error
        keep_alive = headers.get(b"connection", b"").lower() != b"close"
        return status, body, keep_alive

    def _headers(self) -> dict[bytes, bytes]:
        headers = {}
        while (line := self._reader.readline()) not in (b"\r\n", b"\n", b""):
            name, _, value = line.partition(b":")
            headers[name.strip().lower()] = value.strip()
        return headers

    def _chunked_body(self) -> bytes:
        chunks = []
        while size := int(self._reader.readline().split(b";", 1)[0], 16):
            chunks.append(self._exactly(size))
            self._reader.readline()  # the CRLF after each chunk
        while self._reader.readline() not in (b"\r\n", b"\n", b""):
            pass  # trailers
        return b"".join(chunks)

    def _exactly(self, size: int) -> bytes:
        data = self._reader.read(size)
        if len(data) != size:
            raise ConnectionError("Docker's answer was cut short")
        return data

    def close(self) -> None:
        self._reader.close()
        self._sock.close()


def _api_error(status: int, body: bytes) -> docker.errors.APIError:
    """The error docker-py raises for the same answer."""
    try:
        explanation = json.loads(body).get("message", "")
    except (ValueError, AttributeError):
        explanation = body.decode("utf-8", "replace")
    response = requests.Response()
    response.status_code = status
    error_class = docker.errors.NotFound if status == 404 else docker.errors.APIError
    return error_class(f"{status} error from Docker", response=response, explanation=explanation)
