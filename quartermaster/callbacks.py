"""Callbacks: POST a finished job's /status document to the URL its client gave.

No Docker here. The body is signed with HMAC-SHA256 when a secret is configured, and redirects are
never followed. Every delivery is bounded, whatever the receiver does: one deadline covers
resolving, connecting, sending and reading the answer, and only the answer's status line is read
(at most MAX_ANSWER_BYTES), never its body.

By default a callback may not reach this host or the networks behind it (the manager holds the
Docker socket): a URL whose host is, or resolves to, an address that is not public (loopback,
link-local, private, unique-local, multicast, reserved, unspecified) is refused, when /run is asked
and again at delivery. A delivery resolves the host once, checks every address, and connects to a
checked address itself, so a DNS answer that changes in between (rebinding) cannot redirect it.
"""

import base64
import hashlib
import hmac
import ipaddress
import json
import re
import socket
import ssl
import threading
import time
from dataclasses import dataclass
from functools import cache
from urllib.parse import quote, unquote, urlsplit

SIGNATURE_HEADER = "X-Quartermaster-Signature"
JOB_HEADER = "X-Quartermaster-Job"
# The whole of one delivery, from resolving the host to the answer's status line. Well inside the
# lease a reaper holds on a callback while delivering it (swarm.reaping.LEASE_SECONDS, 60 s), so
# no other reaper takes over a delivery that is still under way.
DEADLINE_SECONDS = 10.0
RESOLVE_SECONDS = 2.0  # /run: a callback's host must resolve within this
MAX_ANSWER_BYTES = 8192  # of the receiver's answer, read for its status line only
DEFAULT_PORTS = {"http": 80, "https": 443}
# What requests leaves unquoted in a URL: a callback_url goes out as it did before.
_SAFE_IN_TARGET = "!#$%&'()*+,/:;=?@[]~"
_STATUS_LINE = re.compile(rb"HTTP/\d\.\d (\d{3})(?: |\r?$)")
_END_OF_HEAD = re.compile(rb"\r?\n\r?\n")
_NOT_PUBLIC = (  # (property of an address, how the refusal names it)
    ("is_loopback", "a loopback"),
    ("is_link_local", "a link-local"),
    ("is_multicast", "a multicast"),
    ("is_unspecified", "an unspecified"),
    ("is_private", "a private"),
    ("is_site_local", "a site-local"),
    ("is_reserved", "a reserved"),
)


class CallbackRefused(ValueError):
    """This URL may not be called; the message says why (for a 400 and for logs)."""


class BadAnswer(Exception):
    """The receiver answered something that is not an HTTP answer."""


@dataclass(frozen=True)
class Delivery:
    delivered: bool
    detail: str  # "HTTP 204", "timed out", ...: for logs, never containing the body


@dataclass(frozen=True)
class Target:
    """Where a callback URL points, and the parts of the request that go there."""

    scheme: str
    host: str  # lowercase, IPv6 without brackets, internationalized names in their ASCII form
    port: int
    authority: str  # the Host header
    request_target: str  # path and query, percent-encoded
    credentials: tuple[str, str] | None  # from user:password@ in the URL

    @property
    def receiver(self) -> str:
        """host:port: what the reaper shares its delivery slots by."""
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"


def parse_target(url: str) -> Target:
    parts = urlsplit(url)
    if parts.scheme not in DEFAULT_PORTS or not parts.hostname:
        raise CallbackRefused("not an http or https URL with a host")
    try:
        host = parts.hostname.encode("idna").decode("ascii")
        port = parts.port or DEFAULT_PORTS[parts.scheme]
    except (UnicodeError, ValueError):
        raise CallbackRefused("not a valid host or port") from None
    authority = f"[{host}]" if ":" in host else host
    if parts.port is not None:
        authority += f":{parts.port}"
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    credentials = None
    if parts.username is not None:
        credentials = (unquote(parts.username), unquote(parts.password or ""))
    return Target(
        parts.scheme, host, port, authority, quote(target, safe=_SAFE_IN_TARGET), credentials
    )


def parse_host_entry(entry: str) -> tuple[str, int | None]:
    """A CALLBACK_HOSTS entry: `host`, `host:port`, `[v6]` or `[v6]:port`."""
    parts = urlsplit(f"//{entry.strip()}")
    try:
        port = parts.port
    except ValueError:
        raise ValueError(f"CALLBACK_HOSTS entry {entry!r} has an invalid port") from None
    if not parts.hostname or parts.path or parts.query or parts.username is not None:
        raise ValueError(f"CALLBACK_HOSTS entry {entry!r} is not a host or host:port")
    return parts.hostname.encode("idna").decode("ascii"), port


def host_allowed(target: Target, allowed_hosts: tuple[str, ...]) -> bool:
    """Whether CALLBACK_HOSTS lets the callback go there: an entry without a port allows any."""
    for entry in allowed_hosts:
        host, port = parse_host_entry(entry)
        if host == target.host and port in (None, target.port):
            return True
    return False


def not_public(address: str) -> str | None:
    """Why a callback may not go to this address (`"a loopback address"`), or None."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])  # without an IPv6 zone (fe80::1%eth0)
    if ip.version == 6 and ip.ipv4_mapped:
        ip = ip.ipv4_mapped  # ::ffff:127.0.0.1 is 127.0.0.1
    for prop, name in _NOT_PUBLIC:
        if getattr(ip, prop, False):
            return f"{name} address"
    return None if ip.is_global else "not a public address"


def check_url(
    url: str, *, allowed_hosts: tuple[str, ...], allow_private: bool, timeout=RESOLVE_SECONDS
) -> None:
    """Raise CallbackRefused if a callback may not go to `url` (what /run asks before a job).
    With private addresses allowed there is nothing to check an address for: no lookup."""
    target = parse_target(url)
    _check_host(target, allowed_hosts)
    if not allow_private:
        resolve_checked(target, allow_private, timeout)


def resolve_checked(target: Target, allow_private: bool, timeout: float) -> list[tuple]:
    """The target's addresses as (family, socket address), each checked unless allow_private.

    One address that is not public refuses them all: a host that resolves to both a public and a
    private address would otherwise reach the private one on some attempts.
    """
    addresses = _resolve(target.host, target.port, timeout)
    if not allow_private:
        for _, sockaddr in addresses:
            reason = not_public(sockaddr[0])
            if reason:
                named = "" if target.host == sockaddr[0] else f"{target.host} resolves to "
                raise CallbackRefused(f"{named}{sockaddr[0]}, {reason}")
    return addresses


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
        _check_host(target, allowed_hosts)
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


def printable_url(url: str) -> str:
    """The URL without its query and credentials, for logs."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname}{f':{parts.port}' if parts.port else ''}{parts.path}"


def _check_host(target: Target, allowed_hosts: tuple[str, ...]) -> None:
    if allowed_hosts and not host_allowed(target, allowed_hosts):
        raise CallbackRefused(f"callbacks may only go to: {', '.join(allowed_hosts)}")


def _resolve(host: str, port: int, timeout: float) -> list[tuple]:
    """getaddrinfo, bounded in time: it has no timeout of its own, so it runs in a thread of its
    own (a greenlet under gevent) that is left behind at the timeout; the system's resolver gives
    up on its own later."""
    try:
        ipaddress.ip_address(host.split("%", 1)[0])
        literal = True
    except ValueError:
        literal = False
    if literal:  # no lookup, no thread
        return _addresses(socket.getaddrinfo(host, port, type=socket.SOCK_STREAM))
    answer: list = []
    done = threading.Event()

    def lookup():
        try:
            answer.append(socket.getaddrinfo(host, port, type=socket.SOCK_STREAM))
        except (OSError, UnicodeError) as error:
            answer.append(error)
        done.set()

    threading.Thread(target=lookup, name="resolve", daemon=True).start()
    if not done.wait(timeout):
        raise CallbackRefused(f"{host} did not resolve within {timeout:g} s")
    if isinstance(answer[0], Exception):
        raise CallbackRefused(f"{host} does not resolve")
    return _addresses(answer[0])


def _addresses(infos) -> list[tuple]:
    addresses = [(family, sockaddr) for family, _, _, _, sockaddr in infos]
    if not addresses:
        raise CallbackRefused("no address")
    return addresses


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
