"""The client's address, for the audit trail: the peer's, or, when the peer is one of
TRUSTED_PROXIES (nginx in front), the address X-Forwarded-For says the request came from (the
rightmost one not itself a trusted proxy: a client may prepend anything it likes)."""

import ipaddress
from collections.abc import Sequence

from flask import request

MAX_ADDRESS = 64


def client_address(trusted_proxies: Sequence[str]) -> str | None:
    peer = request.remote_addr
    if not peer or not trusted_proxies or not _within(peer, trusted_proxies):
        return peer[:MAX_ADDRESS] if peer else None
    forwarded = [part.strip() for part in request.headers.get("X-Forwarded-For", "").split(",")]
    for address in reversed([part for part in forwarded if part]):
        if not _within(address, trusted_proxies):
            return address[:MAX_ADDRESS] if _is_address(address) else peer
    return peer


def _within(address: str, networks: Sequence[str]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in ipaddress.ip_network(network, strict=False) for network in networks)


def _is_address(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True
