"""Callback deliveries are bounded whatever receivers do: in time, in memory, and in how much one
receiver can hold up the others. Receivers here are raw sockets on loopback that misbehave."""

import contextlib
import select
import socket
import threading
import time

import pytest
from conftest import make_config, wait_until
from test_reaper import Receiver

from quartermaster.reaper import callbacks
from quartermaster.reaper.reaper import SLOTS_PER_RECEIVER, Reaper
from quartermaster.reaper.supervisor import start_process, stop_process

TRICKLE_SECONDS = 2  # a trickling receiver sends one byte this often
# What a trickling receiver sends, one byte at a time: never the end of its status line.
TRICKLE = b"HTTP/1.1 200 OK" + b" " * 10_000
FLOOD_BYTES = 512 * 1024 * 1024  # what a flooding receiver offers as its answer's body


class MisbehavingReceiver:
    """A loopback receiver that reads each request whole, then answers in a way of its `mode`:
    `trickle` (TRICKLE, a byte every TRICKLE_SECONDS), `silent` (nothing, ever) or `flood` (a 200
    with a FLOOD_BYTES body, as fast as it goes). Each connection is recorded: when it was
    accepted, when the other side closed it, and how many bytes of the answer went out."""

    def __init__(self, mode: str):
        self.mode, self.connections, self._sockets = mode, [], []
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}/hook"
        threading.Thread(target=self._accept, daemon=True).start()

    def open_connections(self) -> int:
        return sum(1 for connection in self.connections if connection["closed_at"] is None)

    def most_open_at_once(self) -> int:
        events = [(c["accepted_at"], 1) for c in self.connections]
        events += [(c["closed_at"], -1) for c in self.connections if c["closed_at"] is not None]
        most = now = 0
        for _, change in sorted(events):
            now += change
            most = max(most, now)
        return most

    def close(self):
        """Stop listening and hang up: no delivery is left waiting on this receiver."""
        with contextlib.suppress(OSError):
            self.listener.shutdown(socket.SHUT_RDWR)  # wakes the accept() (a close does not)
        self.listener.close()
        for conn in self._sockets:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)

    def _accept(self):
        with contextlib.suppress(OSError):
            while True:
                conn, _ = self.listener.accept()
                self._sockets.append(conn)
                connection = {"accepted_at": time.monotonic(), "closed_at": None, "sent": 0}
                self.connections.append(connection)
                threading.Thread(target=self._serve, args=(conn, connection), daemon=True).start()

    def _serve(self, conn: socket.socket, connection: dict):
        with conn, contextlib.suppress(OSError):
            self._read_request(conn)
            if self.mode == "flood":
                head = f"HTTP/1.1 200 OK\r\nContent-Length: {FLOOD_BYTES}\r\n\r\n".encode()
                conn.sendall(head)
                chunk = b"x" * 65536
                while connection["sent"] < FLOOD_BYTES:
                    connection["sent"] += conn.send(chunk)
            else:
                answer = TRICKLE if self.mode == "trickle" else b""
                while not self._closed_by_peer(conn, TRICKLE_SECONDS):
                    if connection["sent"] < len(answer):
                        connection["sent"] += conn.send(answer[connection["sent"] :][:1])
        connection["closed_at"] = time.monotonic()

    @staticmethod
    def _read_request(conn: socket.socket):
        data = b""
        while b"\r\n\r\n" not in data:
            data += conn.recv(65536)
        head, body = data.split(b"\r\n\r\n", 1)
        length = int(head.lower().split(b"content-length:")[1].split(b"\r\n")[0])
        while len(body) < length:
            body += conn.recv(65536)

    @staticmethod
    def _closed_by_peer(conn: socket.socket, wait: float) -> bool:
        readable, _, _ = select.select([conn], [], [], wait)
        return bool(readable) and conn.recv(1) == b""


@pytest.fixture
def receivers(running_reaper):
    """Receivers of the modes asked; closed before the reaper's deliveries are waited for (hence
    the dependency: a fixture is torn down before those it depends on)."""
    made = []

    def make(mode):
        made.append(Receiver() if mode == "fast" else MisbehavingReceiver(mode))
        return made[-1]

    yield make
    for receiver in made:
        receiver.close()


@pytest.fixture
def running_reaper():
    """A reaper in this process, its rounds in a thread; stopped (deliveries ended) after."""
    stop = threading.Event()
    started = []

    def start(**settings):
        started.append(Reaper(make_config(reaper_interval=0.5, **settings)))
        threading.Thread(target=started[-1].run_forever, args=(stop,), daemon=True).start()
        return started[-1]

    yield start
    stop.set()
    for each in started:
        each.close()


@pytest.mark.parametrize("mode", ["trickle", "silent"])
def test_a_delivery_ends_at_its_deadline_whatever_the_receiver_does(
    lab, api, running_reaper, receivers, mode
):
    receiver = receivers(mode)
    api.run_ok(image=lab.image, command="true", callback_url=receiver.url)
    running_reaper()
    wait_until(lambda: receiver.connections, 60, "the callback never came")
    [first, *_] = receiver.connections
    deadline = callbacks.DEADLINE_SECONDS
    wait_until(lambda: first["closed_at"], deadline + 10, "the delivery outlived its deadline")
    held = first["closed_at"] - first["accepted_at"]
    assert deadline - 1 < held < deadline + 3


def test_trickling_receivers_do_not_delay_a_fast_one(lab, api, running_reaper, receivers):
    tricklers = [receivers("trickle") for _ in range(8)]
    jobs = [
        api.run_ok(image=lab.image, command="true", callback_url=trickler.url)
        for trickler in tricklers
        for _ in range(3)
    ]
    for job_id in jobs:
        api.wait_for(job_id, "complete")
    running_reaper()
    # The tricklers hold deliveries of the reaper (at least as many as the 8 it ran at once
    # before): the fast one comes now.
    wait_until(
        lambda: sum(trickler.open_connections() for trickler in tricklers) >= 8,
        30,
        "the reaper never delivered to the tricklers",
    )
    fast = receivers("fast")
    fast_job = api.run_ok(image=lab.image, command="true", callback_url=fast.url)
    api.wait_for(fast_job, "complete")
    finished = time.monotonic()
    wait_until(lambda: fast.calls, 30, "the fast receiver never got its callback")
    assert time.monotonic() - finished < 5
    assert [document["id"] for document in fast.documents()] == [fast_job]
    # Meanwhile each trickler holds at most its share of the reaper's slots, and no longer than
    # a delivery's deadline.
    time.sleep(callbacks.DEADLINE_SECONDS + 3)
    for trickler in tricklers:
        assert trickler.most_open_at_once() <= SLOTS_PER_RECEIVER
        for connection in trickler.connections:
            end = connection["closed_at"] or time.monotonic()
            assert end - connection["accepted_at"] < callbacks.DEADLINE_SECONDS + 3


def test_a_flood_of_an_answer_is_not_read(lab, api, receivers):
    """A receiver answering 512 MB: the real reaper process reads its status line and closes; its
    memory stays where it was."""
    flood = receivers("flood")
    job_id = api.run_ok(image=lab.image, command="true", callback_url=flood.url)
    api.wait_for(job_id, "complete")
    process = start_process(make_config(reaper_interval=0.5))
    try:
        wait_until(lambda: flood.connections, 60, "the callback never came")
        [connection] = flood.connections
        wait_until(lambda: connection["closed_at"], 30, "the reaper kept reading")
        peak_kib = _peak_rss_kib(process.pid)
    finally:
        stop_process(process)
    # What the kernel's socket buffers took before the reaper closed, not the 512 MB offered.
    assert connection["sent"] < 64 * 1024 * 1024
    assert peak_kib < 150 * 1024  # a reaper is about 50 MB; the old one grew by the whole body


@pytest.mark.parametrize(
    "answer,outcome",
    [
        (b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n", (True, "HTTP 204")),
        (
            b"HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 302 Found\r\n",
            (False, "HTTP 302"),
        ),
        (b"SSH-2.0-OpenSSH_9.6\r\n", (False, "bad answer: no HTTP status line")),
        (
            b"HTTP/1.1 200 " + b"x" * 20_000,
            (False, "bad answer: no status line in its first 8192 bytes"),
        ),
        (b"", (False, "bad answer: closed without an answer")),
    ],
)
def test_the_answer_is_read_for_its_final_status_only(answer, outcome):
    """Interim answers (1xx) are skipped; what is not an HTTP answer, or has no status line in
    its first MAX_ANSWER_BYTES, is not a delivery."""
    with socket.create_server(("127.0.0.1", 0)) as listener:

        def answer_once():
            conn, _ = listener.accept()
            with conn:
                MisbehavingReceiver._read_request(conn)
                conn.sendall(answer)

        threading.Thread(target=answer_once, daemon=True).start()
        url = f"http://127.0.0.1:{listener.getsockname()[1]}/hook"
        delivery = callbacks.deliver(
            url, {"id": "job"}, secret=None, allowed_hosts=(), allow_private=True
        )
    assert (delivery.delivered, delivery.detail) == outcome


def _peak_rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    raise AssertionError("no VmHWM")
