"""Swarm placement constraints (`node.role==worker`): their syntax, and whether a node matches.

Pure. Matching follows swarmkit: `node.id`, `node.hostname`, `node.role`, `node.platform.os`,
`node.platform.arch`, `node.labels.<key>` and `engine.labels.<key>`; a label the node lacks equals
nothing (so `!=` matches it).
"""

import re

_CONSTRAINT = re.compile(r"^\s*([A-Za-z0-9_.\-]+)\s*(==|!=)\s*([^=!\s\x00][^\x00]*?)\s*\Z")


def is_valid_constraint(constraint: str) -> bool:
    return bool(_CONSTRAINT.match(constraint))


def node_matches(node: dict, constraints: tuple[str, ...] | list[str]) -> bool:
    return all(_matches(node, constraint) for constraint in constraints)


def _matches(node: dict, constraint: str) -> bool:
    match = _CONSTRAINT.match(constraint)
    if not match:
        return False
    key, operator, expected = match.groups()
    actual, case_sensitive = _attribute(node, key)
    if actual is None:
        equal = False
    elif case_sensitive:
        equal = actual == expected
    else:
        equal = actual.lower() == expected.lower()
    return equal if operator == "==" else not equal


def _attribute(node: dict, key: str) -> tuple[str | None, bool]:
    """The node's value for a constraint key, and whether comparing it is case-sensitive."""
    description = node.get("Description", {})
    lowered = key.lower()
    fixed = {
        "node.id": node.get("ID"),
        "node.hostname": description.get("Hostname"),
        "node.role": node.get("Spec", {}).get("Role"),
        "node.platform.os": description.get("Platform", {}).get("OS"),
        "node.platform.arch": description.get("Platform", {}).get("Architecture"),
    }
    if lowered in fixed:
        return fixed[lowered], False
    for prefix, labels in (
        ("node.labels.", node.get("Spec", {}).get("Labels") or {}),
        ("engine.labels.", description.get("Engine", {}).get("Labels") or {}),
    ):
        if lowered.startswith(prefix):
            return labels.get(key[len(prefix) :]), True
    return None, True
