"""The reaper's service events (swarm/service_events.py): each service event's id is kept for
the next take, and a stream that ends or never opened is a gap (the next round is a full one).
On the lab, with Docker's own stream: tests/lab/test_reaper_quick_rounds.py."""

import json
import threading
import time

from quartermaster.jobs.errors import DockerUnavailable
from quartermaster.swarm import service_events
from quartermaster.swarm.service_events import Heard, ServiceEvents


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

    def __init__(self, body: bytes, piece: int = 1 << 16):
        self._body = body
        self._piece = piece
        self._shut = threading.Event()

    def read_some(self, size: int) -> bytes:
        if self._body:
            size = min(size, self._piece)
            part, self._body = self._body[:size], self._body[size:]
            return part
        self._shut.wait()
        return b""

    def read(self, size: int) -> bytes:
        raise AssertionError("events are read as they come: read_some")

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
    body = (
        event("service", "made")
        + event("config", "c1")
        + event("service", "made-and-removed")
        + event("service", "made-and-removed", "remove")
        + event("service", "changed", "update")
    )
    # Events arriving in pieces that cut lines anywhere.
    stream = ScriptedStream(body, piece=7)
    events = ServiceEvents(Connection(Engine([stream])))  # type: ignore[arg-type]
    events.start()
    try:
        changed: set[str] = set()
        removed: set[str] = set()

        def all_heard() -> bool:
            heard = events.take()
            changed.update(heard.changed)
            removed.update(heard.removed)
            return changed == {"made", "changed"} and removed == {"made-and-removed"}

        assert wait_for(all_heard)
        assert events.listening
        assert events.take() == Heard(set(), set(), False)  # taken: nothing new, and no gap
    finally:
        events.stop()
    assert events.take().gap  # stopped: changes go unheard


def test_a_stream_not_open_yet_or_broken_is_a_gap(monkeypatch):
    monkeypatch.setattr(service_events, "RECONNECT_SECONDS", 0.01)
    broken = ScriptedStream(b"not json\n")
    engine = Engine([DockerUnavailable("Docker is unreachable"), broken, ScriptedStream(b"")])
    events = ServiceEvents(Connection(engine))  # type: ignore[arg-type]
    assert events.take() == Heard(set(), set(), True)  # before it ever opened
    events.start()
    try:
        assert wait_for(lambda: engine.opened >= 3)  # opened again after each failure
        assert events.take().gap
    finally:
        events.stop()
