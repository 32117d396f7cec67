"""Where a callback may go: its URL parsed into the parts a delivery needs, and the address policy.

By default a callback may not reach this host or the networks behind it (the manager holds the
Docker socket): a URL whose host is, or resolves to, an address that is not public (loopback,
link-local, private, unique-local, multicast, reserved, unspecified) is refused, when /run is asked
and again at delivery (reaper/callbacks.py). `CALLBACK_HOSTS` entries may name a port.
The policy only, pure: no lookup, no thread, no socket. Resolving a host and checking what it
resolves to is process/callback_lookup.py's, which /run's validation and the reaper's delivery call.
"""

import hashlib
import ipaddress
from dataclasses import dataclass
from urllib.parse import quote, unquote, urlsplit

DEFAULT_PORTS = {"http": 80, "https": 443}
HASH_DIGITS = 16  # of a callback URL's SHA-256 in what is recorded and logged of it
# What requests leaves unquoted in a URL: a callback_url goes out as it did before.
_SAFE_IN_TARGET = "!#$%&'()*+,/:;=?@[]~"
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


def check_addresses(target: Target, addresses: list[tuple]) -> None:
    """CallbackRefused if an address the target resolves to, as (family, socket address), is not
    public. One address that is not public refuses them all: a host that resolves to both a
    public and a private address would otherwise reach the private one on some attempts."""
    for _, sockaddr in addresses:
        reason = not_public(sockaddr[0])
        if reason:
            named = "" if target.host == sockaddr[0] else f"{target.host} resolves to "
            raise CallbackRefused(f"{named}{sockaddr[0]}, {reason}")


def printable_url(url: str) -> str:
    """What a record, /history and a log show of a callback URL: `scheme://host:port`, then
    `/...#sha256:` and the first 16 hex digits of the SHA-256 of the whole URL as the client gave
    it, e.g. `https://hooks.slack.com:443/...#sha256:3f1c0a9d5e2b7c44`. A webhook's secret is in
    its path (Slack, Discord), query or credentials: none of them is shown, and whoever holds the
    URL can tell it is this one (`printf %s "$URL" | sha256sum | cut -c1-16`). The full URL stays
    in the job's service, for its delivery only."""
    digest = hashlib.sha256(url.encode("utf-8", "surrogatepass")).hexdigest()[:HASH_DIGITS]
    try:
        target = parse_target(url)
        origin = f"{target.scheme}://{target.receiver}"
    except CallbackRefused:  # not a URL /run accepts (an old or foreign label): no part of it
        origin = "(not an http or https URL)"
    return f"{origin}/...#sha256:{digest}"


def check_host(target: Target, allowed_hosts: tuple[str, ...]) -> None:
    """CallbackRefused unless CALLBACK_HOSTS (when set) lets the callback go there."""
    if allowed_hosts and not host_allowed(target, allowed_hosts):
        raise CallbackRefused(f"callbacks may only go to: {', '.join(allowed_hosts)}")
