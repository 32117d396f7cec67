"""The Engine API calls quartermaster makes, through one client that raises our own errors.

Every call, read, write or log stream, goes through `EngineClient._call` (a stream: `_open`):
there it takes a slot of the process's `CallGate` (so at most so many calls are in flight to
Docker, each over within the Docker timeout from when it was asked for, its wait for a slot
included), its time and failures are recorded in the metrics, and what Docker answers is turned
into JSON or into a `SwarmError` (a 404: `JobNotFound`) carrying Docker's own message. Which
wire the call takes (a Unix socket, or docker-py's session for other hosts) is the transport's
business (`transport.py`).
"""

import base64
import json
import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote, urlencode

from quartermaster.jobs.errors import (
    DockerRejected,
    DockerUnavailable,
    JobLookupError,
    JobNotFound,
    NameConflict,
    NotASwarmManager,
    SwarmError,
)
from quartermaster.process import metrics
from quartermaster.swarm.call_gate import CallGate
from quartermaster.swarm.transport import Stream, Transport

UNREACHABLE = "Docker is unreachable"
JSON_HEADERS = {"Content-Type": "application/json"}


class EngineClient:
    def __init__(
        self, transport: Transport, gate: CallGate, timeout: float, api_version: str | None = None
    ):
        """`api_version`: the version every path is sent under; None: unversioned paths (only
        to ask Docker its version, see `connect`)."""
        self._transport = transport
        self._gate = gate
        self._timeout = timeout
        self._prefix = f"/v{api_version}" if api_version else ""

    @classmethod
    def connect(cls, transport: Transport, gate: CallGate, timeout: float) -> "EngineClient":
        """A client speaking the API version Docker reports (one call)."""
        version = cls(transport, gate, timeout).version()["ApiVersion"]
        return cls(transport, gate, timeout, version)

    # Reads, named as docker-py's APIClient names them.

    def version(self) -> dict:
        return self._call("GET", "/version")

    def info(self) -> dict:
        return self._call("GET", "/info")

    def nodes(self, filters: dict | None = None) -> list:
        return self._call("GET", "/nodes", _filters(filters))

    def services(self, filters: dict | None = None) -> list:
        return self._call("GET", "/services", _filters(filters))

    def inspect_service(self, service: str) -> dict:
        return self._call("GET", f"/services/{_quoted(service)}")

    def tasks(self, filters: dict | None = None) -> list:
        return self._call("GET", "/tasks", _filters(filters))

    def configs(self, filters: dict | None = None) -> list:
        return self._call("GET", "/configs", _filters(filters))

    def inspect_config(self, config: str) -> dict:
        return self._call("GET", f"/configs/{_quoted(config)}")

    # Writes.

    def create_service(self, spec: dict, headers: Mapping[str, str] | None = None) -> str:
        """Create a service; its id. `headers`: e.g. X-Registry-Auth, for the image's pull."""
        return self._call("POST", "/services/create", body=spec, headers=headers)["ID"]

    def update_service(self, service_id: str, version: int, spec: dict) -> None:
        """Replace the service's spec, if its version is still `version`. Sent without
        X-Registry-Auth, Docker keeps the registry credentials the service has (its default
        `registryAuthFrom=spec`), which an inspected spec never shows."""
        path = f"/services/{_quoted(service_id)}/update"
        self._call("POST", path, {"version": version}, body=spec)

    def remove_service(self, service_id: str) -> None:
        self._call("DELETE", f"/services/{_quoted(service_id)}")

    def create_config(self, name: str, labels: dict[str, str], data: bytes = b"{}") -> str:
        """Create a swarm config (names are unique in a swarm); its id."""
        spec = {"Name": name, "Labels": labels, "Data": base64.b64encode(data).decode()}
        return self._call("POST", "/configs/create", body=spec)["ID"]

    def update_config(self, config_id: str, version: int, spec: dict) -> None:
        """Replace the config's spec (only its labels may change), if its version is still
        `version`."""
        path = f"/configs/{_quoted(config_id)}/update"
        self._call("POST", path, {"version": version}, body=spec)

    def remove_config(self, config_id: str) -> None:
        self._call("DELETE", f"/configs/{_quoted(config_id)}")

    # Streams.

    def service_logs(self, service_id: str, params: dict) -> Stream:
        """The service's log, open: Docker's multiplexed frames, read as they come. The caller
        closes it."""
        return self._open(f"/services/{_quoted(service_id)}/logs", params)

    def events(self, filters: dict) -> Stream:
        """Docker's events as they happen, one JSON object a line, from now on: open until the
        caller closes it."""
        return self._open("/events", _filters(filters) or {})

    def _call(
        self,
        method: str,
        path: str,
        params: dict | None = None,
        body: dict | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Any:
        """One Engine API call; its answer's JSON (None for an empty answer)."""
        target = self._target(path, params)
        data = None if body is None else json.dumps(body).encode()
        headers = {**(JSON_HEADERS if body is not None else {}), **(headers or {})}
        call = metrics.docker_call_name(method, target)
        started = time.perf_counter()
        try:
            with self._gate.call(self._timeout) as seconds_left:
                status, answer = self._transport.exchange(
                    method, target, data, headers, seconds_left
                )
        except OSError as error:
            raise unreachable() from error
        _record(call, started, status)
        if status >= 400:
            raise _error_from_answer(status, answer)
        if not answer:
            return None
        try:
            return json.loads(answer)
        except ValueError as error:
            raise unreachable() from ConnectionError(f"Docker's answer was not JSON: {error}")

    def _open(self, path: str, params: dict) -> Stream:
        """A GET whose answer is read as it comes; within the gate until its head has come."""
        target = self._target(path, params)
        call = metrics.docker_call_name("GET", target)
        started = time.perf_counter()
        try:
            with self._gate.call(self._timeout) as seconds_left:
                stream = self._transport.open_stream(target, seconds_left)
            _record(call, started, stream.status)
            if stream.status < 400:
                return stream
            try:
                raise _error_from_answer(stream.status, stream.read_all())
            finally:
                stream.close()
        except OSError as error:
            raise unreachable() from error

    def _target(self, path: str, params: dict | None) -> str:
        target = self._prefix + path
        if params:
            target += "?" + urlencode(params)
        return target


def _error_from_answer(status: int, answer: bytes) -> SwarmError | JobLookupError:
    """Our error for Docker's error answer, with Docker's own message."""
    try:
        explanation = str(json.loads(answer)["message"])
    except (ValueError, KeyError, TypeError):
        explanation = answer.decode("utf-8", "replace").strip() or f"{status} error from Docker"
    if status == 404:
        return JobNotFound(explanation)
    if status == 409:
        return NameConflict(explanation)
    if status == 503 and "swarm" in explanation.lower():
        return NotASwarmManager(explanation)
    if status >= 500:
        return DockerUnavailable(f"Docker failed: {explanation}")
    return DockerRejected(explanation)


def unreachable() -> DockerUnavailable:
    """No answer (no socket, refused, cut, silent past the timeout, not HTTP), raised from the
    cause that says which; the client is told only that Docker is unreachable."""
    metrics.docker_errors.labels("unreachable").inc()
    return DockerUnavailable(UNREACHABLE)


def _record(call: str, started: float, status: int) -> None:
    metrics.docker_duration.labels(call).observe(time.perf_counter() - started)
    if status >= 400:
        metrics.docker_errors.labels(call).inc()


def _filters(filters: dict | None) -> dict | None:
    """The Engine API's `filters` parameter: JSON of each filter's values as a list of strings
    (a bool as `true`/`false`), as docker-py writes it."""
    if not filters:
        return None
    return {"filters": json.dumps({name: _filter_values(value) for name, value in filters.items()})}


def _filter_values(value: object) -> list[str]:
    if isinstance(value, bool):
        value = "true" if value else "false"
    values = value if isinstance(value, list) else [value]
    return [item if isinstance(item, str) else str(item) for item in values]


def _quoted(name: str) -> str:
    return quote(name, safe="")
