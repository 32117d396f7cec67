"""Callback receivers on loopback: one that records what it gets, and ones that misbehave."""

import contextlib
import json
import select
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Receiver:
    """A callback receiver on loopback that records what it gets and answers `status`."""

    def __init__(self, status=204, delay=0.0):
        self.status, self.delay, self.calls = status, delay, []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                time.sleep(receiver.delay)
                call = {
                    "path": self.path,
                    "headers": dict(self.headers),
                    "body": body,
                    "status": receiver.status,
                }
                receiver.calls.append(call)
                self.send_response(receiver.status)
                if receiver.status in (301, 302):
                    self.send_header("Location", f"{receiver.url}/elsewhere")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def documents(self):
        return [json.loads(call["body"]) for call in self.calls]

    def close(self):
        self.server.shutdown()
        self.server.server_close()


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
            read_request(conn)
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
    def _closed_by_peer(conn: socket.socket, wait: float) -> bool:
        readable, _, _ = select.select([conn], [], [], wait)
        return bool(readable) and conn.recv(1) == b""


def read_request(conn: socket.socket) -> None:
    """Read one request whole from `conn` (its body by its Content-Length)."""
    data = b""
    while b"\r\n\r\n" not in data:
        data += conn.recv(65536)
    head, body = data.split(b"\r\n\r\n", 1)
    length = int(head.lower().split(b"content-length:")[1].split(b"\r\n")[0])
    while len(body) < length:
        body += conn.recv(65536)
