"""HTTP/1.1 to Docker's Unix socket, written for the few things Docker's answers need.

This is the wire of every deployment quartermaster knows, and of its hot paths: a /status is two
calls. Through docker-py's stack (requests, urllib3, http.client) a call costs more CPU than
Docker takes to answer it; through the standard library's `http.client` alone, still much more
than this (its header parsing goes through the `email` package; README, Performance). Docker's
answers need little: a status line, headers, a body of `Content-Length` bytes or in chunks.

Connections are kept alive: up to `pool_size` idle ones, taken by whichever thread or greenlet
calls next. A GET goes on an idle connection if there is one; if Docker closed that one meanwhile
(a restart), it is sent once more on a new one. Any other request goes on a new connection, so it
is never sent twice.
"""

import contextlib
import re
import socket
import sys
import threading
from collections.abc import Mapping
from typing import BinaryIO

# What a header of ours may hold: no line breaks (nothing of a request may pass for another).
_HEADER = re.compile(r"[!-~]+: [ -~]*")


class UnixSocketTransport:
    def __init__(self, path: str, pool_size: int):
        self._path = path
        self._pool_size = pool_size
        self._idle: list[_Connection] = []
        self._lock = threading.Lock()

    def exchange(
        self,
        method: str,
        target: str,
        body: bytes | None,
        headers: Mapping[str, str],
        timeout: float,
    ) -> tuple[int, bytes]:
        connection, answer = self._send(method, target, body, headers, timeout)
        try:
            data = answer.read(sys.maxsize)
        except BaseException:
            connection.close()
            raise
        if answer.keep_alive:
            self._give_back(connection)
        else:
            connection.close()
        return answer.status, data

    def open_stream(self, target: str, timeout: float) -> "_Stream":
        connection, answer = self._send("GET", target, None, {}, timeout)
        return _Stream(connection, answer)

    def _send(
        self,
        method: str,
        target: str,
        body: bytes | None,
        headers: Mapping[str, str],
        timeout: float,
    ) -> tuple["_Connection", "_Answer"]:
        """A connection and the answer on it, its head read."""
        request = _request(method, target, body, headers)
        if method == "GET" and (connection := self._take_idle()) is not None:
            try:
                return connection, connection.send(request, timeout)
            except _ClosedBeforeAnswer:
                pass  # and closed: a new one
        connection = _Connection(self._path, timeout)
        try:
            return connection, connection.send(request, timeout)
        except _ClosedBeforeAnswer as error:
            raise ConnectionError("Docker closed the connection without answering") from error

    def _take_idle(self) -> "_Connection | None":
        with self._lock:
            return self._idle.pop() if self._idle else None

    def _give_back(self, connection: "_Connection") -> None:
        with self._lock:
            if len(self._idle) < self._pool_size:
                self._idle.append(connection)
                return
        connection.close()


def _request(method: str, target: str, body: bytes | None, headers: Mapping[str, str]) -> bytes:
    lines = [f"{method} {target} HTTP/1.1", "Host: docker"]
    for name, value in headers.items():
        line = f"{name}: {value}"
        if not _HEADER.fullmatch(line):
            raise ValueError("a request header holds characters HTTP does not allow")
        lines.append(line)
    if body is not None:
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + (body or b"")


class _ClosedBeforeAnswer(ConnectionError):
    """The connection ended before the first byte of an answer."""


class _Connection:
    """One connection to Docker's socket: a request out, then its answer in."""

    def __init__(self, path: str, timeout: float):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        try:
            self.sock.connect(path)
        except OSError:
            self.sock.close()
            raise
        self._reader = self.sock.makefile("rb")

    def send(self, request: bytes, timeout: float) -> "_Answer":
        """Send the request; its answer, once the head has come. Each step (the send, each read
        of the answer) within `timeout`. Closed if that fails."""
        self.sock.settimeout(timeout)
        try:
            self.sock.sendall(request)
            return self._head()
        except (BrokenPipeError, ConnectionResetError) as error:
            self.close()
            raise _ClosedBeforeAnswer() from error
        except BaseException:
            self.close()
            raise

    def _head(self) -> "_Answer":
        status_line = self._reader.readline()
        if not status_line:
            raise _ClosedBeforeAnswer()
        try:
            status = int(status_line.split(b" ", 2)[1])
            headers = {}
            while (line := self._reader.readline()) not in (b"\r\n", b"\n", b""):
                name, _, value = line.partition(b":")
                headers[name.strip().lower()] = value.strip()
            return _Answer(self._reader, status, headers)
        except (ValueError, IndexError) as error:
            raise _NotHTTP() from error

    def close(self) -> None:
        self._reader.close()
        self.sock.close()


class _Answer:
    """An answer whose head has been read; its body, read as it is asked for: `Content-Length`
    bytes, or chunks (`Transfer-Encoding: chunked`) up to the last, empty one."""

    def __init__(self, reader: BinaryIO, status: int, headers: dict[bytes, bytes]):
        """Raises ValueError for a `Content-Length` that is not a number."""
        self._reader = reader
        self.status = status
        self.keep_alive = headers.get(b"connection", b"").lower() != b"close"
        self._chunked = headers.get(b"transfer-encoding") == b"chunked"
        # Bytes left of the body, or of the current chunk.
        self._left = 0 if self._chunked else int(headers.get(b"content-length", b"0"))
        self._in_chunk = False  # a chunk was begun: a CRLF ends it

    def read(self, size: int) -> bytes:
        """`size` bytes of the body, fewer only at its end."""
        parts = []
        while size > 0 and self._next_part():
            data = self._reader.read(min(size, self._left))
            if not data:
                raise ConnectionError("Docker's answer was cut short")
            parts.append(data)
            self._left -= len(data)
            size -= len(data)
        return b"".join(parts)

    def read_some(self, size: int) -> bytes:
        """At most `size` bytes, of the current chunk only: what the server sent in one piece,
        without waiting for the next."""
        if not self._next_part():
            return b""
        data = self._reader.read(min(size, self._left))
        if not data:
            raise ConnectionError("Docker's answer was cut short")
        self._left -= len(data)
        return data

    def _next_part(self) -> bool:
        """Whether there are bytes left; at the end of a chunk, the next chunk is begun."""
        if not self._chunked or self._left:
            return self._left > 0
        if self._in_chunk:
            self._reader.readline()  # the CRLF after a chunk
        self._in_chunk = True
        try:
            self._left = int(self._reader.readline().split(b";", 1)[0], 16)
        except ValueError as error:
            raise _NotHTTP() from error
        if self._left == 0:
            while self._reader.readline() not in (b"\r\n", b"\n", b""):
                pass  # trailers
            self._chunked = False  # the body is over
        return self._left > 0


class _NotHTTP(ConnectionError):
    def __init__(self) -> None:
        super().__init__("Docker's answer was not HTTP")


class _Stream:
    """An answer read as it comes, on a connection of its own (never given back)."""

    def __init__(self, connection: _Connection, answer: _Answer):
        self.status = answer.status
        self._connection = connection
        self._answer = answer

    def read(self, size: int) -> bytes:
        return self._answer.read(size)

    def read_some(self, size: int) -> bytes:
        return self._answer.read_some(size)

    def read_all(self) -> bytes:
        return self._answer.read(sys.maxsize)

    def without_timeout(self) -> None:
        self._connection.sock.settimeout(None)

    def shutdown(self) -> None:
        with contextlib.suppress(OSError):
            self._connection.sock.shutdown(socket.SHUT_RDWR)

    def close(self) -> None:
        self._connection.close()
