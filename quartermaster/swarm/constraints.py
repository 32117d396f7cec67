"""Swarm placement constraints (`node.role==worker`): their syntax. Pure."""

import re

# `<key> == <value>` or `<key> != <value>`, keys like node.role, node.labels.x, engine.labels.y.
_CONSTRAINT = re.compile(r"^\s*([A-Za-z0-9_.\-]+)\s*(==|!=)\s*([^=!\s][^\x00]*?)\s*$")


def is_valid_constraint(constraint: str) -> bool:
    return bool(_CONSTRAINT.match(constraint))
