"""Callbacks: POST a finished job's /status document to the URL its client gave.

No Docker here. The body is signed with HMAC-SHA256 when a secret is configured, and redirects are
never followed. Every delivery is bounded, whatever the receiver does: one deadline covers
resolving, connecting, sending and reading the answer, and only the answer's status line is read
(at most MAX_ANSWER_BYTES), never its body.

A delivery resolves the host once, checks every address (process/callback_lookup.py), and
connects to a checked address itself, so a DNS answer that changes in between (rebinding) cannot
redirect it.
"""

import base64
import hashlib
import hmac
import json
import re
import socket
import ssl
import time
from dataclasses import dataclass
from functools import cache

from quartermaster.jobs.callback_addresses import CallbackRefused, Target, check_host, parse_target
from quartermaster.process.callback_lookup import resolve_checked

SIGNATURE_HEADER = "X-Quartermaster-Signature"
JOB_HEADER = "X-Quartermaster-Job"
# The whole of one delivery, from resolving the host to the answer's status line. Well inside the
# lease a reaper holds on a callback while delivering it (swarm.reaping.LEASE_SECONDS, 60 s), so
# no other reaper takes over a delivery that is still under way.
DEADLINE_SECONDS = 10.0
MAX_ANSWER_BYTES = 8192  # of the receiver's answer, read for its status line only
_STATUS_LINE = re.compile(rb"HTTP/\d\.\d (\d{3})(?: |\r?$)")
_END_OF_HEAD = re.compile(rb"\r?\n\r?\n")


class BadAnswer(Exception):
    """The receiver answered something that is not an HTTP answer."""


@dataclass(frozen=True)
class Delivery:
    delivered: bool
    detail: str  # "HTTP 204", "timed out", ...: for logs, never containing the body


def sign(body: bytes, secret: str) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def deliver(
    url: str,
    document: dict,
    *,
    secret: str | None,
    allowed_hosts: tuple[str, ...],
    allow_private: bool,
) -> Delivery:
    """One attempt, over within DEADLINE_SECONDS whatever the receiver does."""
    deadline = time.monotonic() + DEADLINE_SECONDS
    try:
        target = parse_target(url)
        check_host(target, allowed_hosts)
        addresses = resolve_checked(target, allow_private, _remaining(deadline))
        status = _exchange(target, addresses, _request(target, document, secret), deadline)
    except CallbackRefused as refusal:
        return Delivery(False, f"refused: {refusal}")
    except TimeoutError:
        return Delivery(False, "timed out")
    except BadAnswer as error:
        return Delivery(False, f"bad answer: {error}")
    except OSError as error:  # refused, reset, unreachable, TLS (ssl.SSLError is an OSError)
        return Delivery(False, type(error).__name__)
    return Delivery(200 <= status < 300, f"HTTP {status}")


def _request(target: Target, document: dict, secret: str | None) -> bytes:
    body = json.dumps(document, separators=(",", ":")).encode()
    headers = {
        "Host": target.authority,
        "User-Agent": "quartermaster",
        "Content-Type": "application/json",
        "Content-Length": str(len(body)),
        JOB_HEADER: document["id"],
        "Connection": "close",
    }
    if secret:
        headers[SIGNATURE_HEADER] = sign(body, secret)
    if target.credentials:
        pair = ":".join(target.credentials).encode("latin-1", "replace")
        headers["Authorization"] = "Basic " + base64.b64encode(pair).decode()
    head = f"POST {target.request_target} HTTP/1.1\r\n"
    head += "".join(f"{name}: {value}\r\n" for name, value in headers.items())
    return head.encode("latin-1") + b"\r\n" + body


def _exchange(target: Target, addresses: list[tuple], request: bytes, deadline: float) -> int:
    """Send the request to the first address that accepts; the answer's status code."""
    sock = _connect(addresses, deadline)
    try:
        if target.scheme == "https":
            sock.settimeout(_remaining(deadline))
            # Verified against the URL's host, not the address connected to.
            sock = _tls_context().wrap_socket(sock, server_hostname=target.host)
        sock.settimeout(_remaining(deadline))
        sock.sendall(request)  # its timeout bounds the whole send, not each part of it
        return _read_status(sock, deadline)
    finally:
        sock.close()


def _connect(addresses: list[tuple], deadline: float) -> socket.socket:
    error: OSError = OSError("no address")
    for family, sockaddr in addresses:
        sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            sock.settimeout(_remaining(deadline))
            sock.connect(sockaddr)
            return sock
        except TimeoutError:
            sock.close()
            raise
        except OSError as refused:
            sock.close()
            error = refused
    raise error


def _read_status(sock: socket.socket, deadline: float) -> int:
    """The final answer's status code, read from at most MAX_ANSWER_BYTES; interim answers
    (1xx) are skipped, the body is never read."""
    answer, received = b"", 0
    while True:
        line_end = answer.find(b"\n")
        if line_end >= 0:
            status_line = _STATUS_LINE.match(answer[: line_end + 1].rstrip(b"\n"))
            if not status_line:
                raise BadAnswer("no HTTP status line")
            status = int(status_line.group(1))
            if not 100 <= status < 200:
                return status
            end_of_head = _END_OF_HEAD.search(answer)
            if end_of_head:
                answer = answer[end_of_head.end() :]
                continue
        if received >= MAX_ANSWER_BYTES:
            raise BadAnswer(f"no status line in its first {MAX_ANSWER_BYTES} bytes")
        sock.settimeout(_remaining(deadline))
        chunk = sock.recv(MAX_ANSWER_BYTES - received)
        if not chunk:
            raise BadAnswer("closed without an answer")
        answer += chunk
        received += len(chunk)


def _remaining(deadline: float) -> float:
    left = deadline - time.monotonic()
    if left <= 0:
        raise TimeoutError
    return left


@cache
def _tls_context() -> ssl.SSLContext:
    return ssl.create_default_context()  # the system's CAs, hostname checked
