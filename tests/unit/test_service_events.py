"""The reaper's service events (swarm/service_events.py): each service event's id is kept for
the next take, and a stream that ends or never opened is a gap (the next round is a full one).
On the lab, with Docker's own stream: tests/lab/test_reaper_quick_rounds.py."""

import json
import threading
import time

from quartermaster.jobs.errors import DockerUnavailable
from quartermaster.swarm import service_events
from quartermaster.swarm.service_events import ServiceEvents


def wait_for(condition, timeout: float = 5) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def event(kind: str, actor_id: str, action: str = "create") -> bytes:
    return json.dumps({"Type": kind, "Action": action, "Actor": {"ID": actor_id}}).encode() + b"\n"


class ScriptedStream:
    """A stream that gives `body`, then waits until shut down (an open stream, quiet)."""

    status = 200

    def __init__(self, body: bytes):
        self._body = body
        self._shut = threading.Event()

    def read(self, size: int) -> bytes:
        if self._body:
            part, self._body = self._body[:size], self._body[size:]
            return part
        self._shut.wait()
        return b""

    def read_all(self) -> bytes:
        return b""

    def without_timeout(self) -> None:
        pass

    def shutdown(self) -> None:
        self._shut.set()

    def close(self) -> None:
        self._shut.set()


class Engine:
    def __init__(self, streams: list):
        self.streams = streams
        self.opened = 0

    def events(self, filters: dict):
        assert filters == {"type": ["service"]}
        answer = self.streams[min(self.opened, len(self.streams) - 1)]
        self.opened += 1
        if isinstance(answer, Exception):
            raise answer
        return answer


class Connection:
    def __init__(self, engine: Engine):
        self.engine = engine


def test_each_service_event_names_its_service_once_taken():
    body = event("service", "s1") + event("config", "c1") + event("service", "s2", "remove")
    events = ServiceEvents(Connection(Engine([ScriptedStream(body)])))  # type: ignore[arg-type]
    events.start()
    try:
        heard: set[str] = set()
        assert wait_for(lambda: heard.update(events.take()[0]) or heard == {"s1", "s2"})
        assert events.listening
        assert events.take() == (set(), False)  # taken: nothing new, and no gap
    finally:
        events.stop()
    assert events.take()[1]  # stopped: changes go unheard


def test_a_stream_not_open_yet_or_broken_is_a_gap(monkeypatch):
    monkeypatch.setattr(service_events, "RECONNECT_SECONDS", 0.01)
    broken = ScriptedStream(b"not json\n")
    engine = Engine([DockerUnavailable("Docker is unreachable"), broken, ScriptedStream(b"")])
    events = ServiceEvents(Connection(engine))  # type: ignore[arg-type]
    assert events.take() == (set(), True)  # before it ever opened
    events.start()
    try:
        assert wait_for(lambda: engine.opened >= 3)  # opened again after each failure
        assert events.take()[1]
    finally:
        events.stop()
