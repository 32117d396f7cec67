"""Swarm placement constraints (`node.role==worker`): their syntax, and whether a node matches.

Pure. Both follow swarmkit (manager/constraint/constraint.go), so that what quartermaster
accepts and predicts is what swarm's scheduler does: a key of letters, digits, `_ - .`; a value
of the characters swarmkit allows; values compared case-insensitively (label names are not);
`node.ip` against an address or a CIDR subnet; a label the node lacks equals nothing (so `!=`
matches it); and a key swarmkit does not know matches no node, whatever the operator.
"""

import ipaddress
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

OPERATORS = ("==", "!=")  # in swarmkit's order: a constraint is split at the first one it holds
# swarmkit's patterns, in ASCII (its \s is [\t\n\f\r ]).
KEY_PATTERN = re.compile(r"[A-Za-z_][A-Za-z0-9\-_.]+\Z")
VALUE_PATTERN = re.compile(r"[A-Za-z0-9:\-_\t\n\f\r .*()?+\[\]\\^$|/]+\Z")
NODE_LABEL_PREFIX = "node.labels."
ENGINE_LABEL_PREFIX = "engine.labels."


@dataclass(frozen=True)
class Constraint:
    key: str
    equal: bool  # == (True) or != (False)
    value: str


def parse_constraint(text: str) -> Constraint | None:
    """The constraint `text` says, or None when swarm would refuse it."""
    for operator in OPERATORS:
        if operator in text:
            key, _, value = text.partition(operator)
            key, value = key.strip(), value.strip()
            if KEY_PATTERN.match(key) and VALUE_PATTERN.match(value):
                return Constraint(key, operator == "==", value)
            return None
    return None


def is_valid_constraint(text: str) -> bool:
    return parse_constraint(text) is not None


def node_matches(node: Mapping[str, Any], constraints: tuple[str, ...] | list[str]) -> bool:
    for text in constraints:
        constraint = parse_constraint(text)
        if constraint is None or not _matches(node, constraint):
            return False
    return True


def _matches(node: Mapping[str, Any], constraint: Constraint) -> bool:
    key = constraint.key.lower()
    if key == "node.ip":
        return _ip_matches(node.get("Status", {}).get("Addr", ""), constraint)
    if key in _FIXED_ATTRIBUTES:
        actual = _FIXED_ATTRIBUTES[key](node)
    elif len(key) > len(NODE_LABEL_PREFIX) and key.startswith(NODE_LABEL_PREFIX):
        labels = node.get("Spec", {}).get("Labels") or {}
        actual = labels.get(constraint.key[len(NODE_LABEL_PREFIX) :], "")  # names: exact case
    elif len(key) > len(ENGINE_LABEL_PREFIX) and key.startswith(ENGINE_LABEL_PREFIX):
        labels = node.get("Description", {}).get("Engine", {}).get("Labels") or {}
        actual = labels.get(constraint.key[len(ENGINE_LABEL_PREFIX) :], "")
    else:
        return False  # a key swarmkit does not know: no node matches
    equal = actual.casefold() == constraint.value.casefold()
    return equal == constraint.equal


_FIXED_ATTRIBUTES = {
    "node.id": lambda node: node.get("ID", ""),
    "node.hostname": lambda node: node.get("Description", {}).get("Hostname", ""),
    "node.role": lambda node: node.get("Spec", {}).get("Role", ""),
    "node.platform.os": lambda node: node.get("Description", {}).get("Platform", {}).get("OS", ""),
    "node.platform.arch": lambda node: (
        node.get("Description", {}).get("Platform", {}).get("Architecture", "")
    ),
}


def _ip_matches(address: str, constraint: Constraint) -> bool:
    """`node.ip`: an address or a subnet (host bits allowed, as Go's ParseCIDR does); anything
    else matches no node."""
    node_ip = _ip(address)
    if (single := _ip(constraint.value)) is not None:
        return (node_ip == single) == constraint.equal
    try:
        subnet = ipaddress.ip_network(constraint.value, strict=False)
    except ValueError:
        return False
    return (node_ip is not None and node_ip in subnet) == constraint.equal


def _ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    # Go compares an IPv4 address and its IPv4-mapped IPv6 form as equal.
    mapped = getattr(address, "ipv4_mapped", None)
    return mapped or address
