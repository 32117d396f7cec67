"""Resolving a callback's host, bounded in time, and checking what it resolves to against the
policy (jobs/callback_addresses.py): what /run asks before it makes a job (web's validation), and
what the reaper does at each delivery (reaper/callbacks.py), which then connects to a checked
address itself.
"""

import ipaddress
import socket
import threading

from quartermaster.jobs.callback_addresses import (
    CallbackRefused,
    Target,
    check_addresses,
    check_host,
    parse_target,
)

RESOLVE_SECONDS = 2.0  # /run: a callback's host must resolve within this


def check_url(
    url: str,
    *,
    allowed_hosts: tuple[str, ...],
    allow_private: bool,
    timeout: float = RESOLVE_SECONDS,
) -> None:
    """Raise CallbackRefused if a callback may not go to `url` (what /run asks before a job).
    With private addresses allowed there is nothing to check an address for: no lookup."""
    target = parse_target(url)
    check_host(target, allowed_hosts)
    if not allow_private:
        resolve_checked(target, allow_private, timeout)


def resolve_checked(target: Target, allow_private: bool, timeout: float) -> list[tuple]:
    """The target's addresses as (family, socket address), each checked unless allow_private."""
    addresses = _resolve(target.host, target.port, timeout)
    if not allow_private:
        check_addresses(target, addresses)
    return addresses


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


def _addresses(infos: list[tuple]) -> list[tuple]:
    addresses = [(family, sockaddr) for family, _, _, _, sockaddr in infos]
    if not addresses:
        raise CallbackRefused("no address")
    return addresses
