"""Which services were made, changed or removed: Docker's event stream, heard in a thread of its
own, for the reaper's quick rounds (reaper/reaper.py).

Docker's swarm events cover services (and nodes, networks, secrets, configs), never tasks, and a
service event names the service only (no labels: the stream cannot be narrowed to a deployment's
jobs). So an event says which service to look at again, not what happened to its job: the reaper
reads that job afresh. While the stream is down, or before it is first open, changes go unheard:
`take` then says so (a gap), and the reaper makes its next round a full one, which reads every
job, once the stream is open again.
"""

import json
import logging
import threading
from dataclasses import dataclass

from quartermaster.jobs.errors import SWARM_CALL_ERRORS
from quartermaster.swarm.docker_connection import DockerConnection
from quartermaster.swarm.transport import Stream

log = logging.getLogger(__name__)
RECONNECT_SECONDS = 2.0  # after the stream ended or could not be opened
MAX_EVENT_BYTES = 1 << 20  # a line longer than this is not an event: the stream is dropped
READ_BYTES = 65536
REMOVED = "remove"


@dataclass(frozen=True)
class Heard:
    changed: set[str]  # services made or changed since, as far as is known there still
    removed: set[str]  # services whose last event was their removal: no need to ask for them
    gap: bool  # changes may have gone unheard (the stream was down, or opened again since)


class ServiceEvents:
    def __init__(self, connection: DockerConnection):
        self._docker = connection
        self._lock = threading.Lock()
        self._changed: dict[str, str] = {}  # service id: what last happened to it
        self._gap = True  # nothing heard yet
        self._stream: Stream | None = None
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._listen, name="service-events", daemon=True)

    def start(self) -> None:
        self._thread.start()

    @property
    def listening(self) -> bool:
        """The stream is open: changes from now on are heard."""
        with self._lock:
            return self._stream is not None

    def take(self) -> "Heard":
        """What was heard since the last take."""
        with self._lock:
            changed, gap = self._changed, self._gap
            self._changed, self._gap = {}, False
        removed = {service_id for service_id, action in changed.items() if action == REMOVED}
        return Heard(set(changed) - removed, removed, gap)

    def stop(self) -> None:
        self._stopping.set()
        with self._lock:
            stream = self._stream
        if stream is not None:
            stream.shutdown()
        if self._thread.is_alive():
            self._thread.join(timeout=5)

    def _listen(self) -> None:
        failing = False  # said once, not every RECONNECT_SECONDS while Docker is away
        while not self._stopping.is_set():
            try:
                stream = self._docker.engine.events(filters={"type": ["service"]})
            except SWARM_CALL_ERRORS as error:
                if not failing:
                    log.warning("reaper: Docker's event stream could not be opened: %s", error)
                failing = True
                self._stopping.wait(RECONNECT_SECONDS)
                continue
            failing = False
            with self._lock:
                self._stream = stream
                # What changed before it opened went unheard: the next round reads every job.
                self._gap = True
            try:
                stream.without_timeout()
                self._hear(stream)
            except (OSError, ValueError) as error:
                if not self._stopping.is_set():
                    log.warning("reaper: Docker's event stream broke: %s", error)
            finally:
                with self._lock:
                    self._stream = None
                    self._gap = True
                stream.close()
            self._stopping.wait(RECONNECT_SECONDS)

    def _hear(self, stream: Stream) -> None:
        """Note each event's service until the stream ends (an OSError, or an empty read)."""
        pending = b""
        while not self._stopping.is_set():
            data = stream.read_some(READ_BYTES)
            if not data:
                return
            *lines, pending = (pending + data).split(b"\n")
            if len(pending) > MAX_EVENT_BYTES:
                raise ValueError("an event line too long")
            heard = [_service_event(line) for line in lines]
            with self._lock:
                for service_id, action in filter(None, heard):
                    self._changed[service_id] = action


def _service_event(line: bytes) -> tuple[str, str] | None:
    """(the service's id, what happened to it) if the line is a service's event."""
    if not line.strip():
        return None
    event = json.loads(line)
    if not isinstance(event, dict) or event.get("Type") != "service":
        return None
    actor = event.get("Actor")
    service_id = actor.get("ID") if isinstance(actor, dict) else None
    if not isinstance(service_id, str) or not service_id:
        return None
    return service_id, str(event.get("Action", ""))
