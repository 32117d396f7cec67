"""One blueprint per endpoint; each parses, makes one call into the swarm layer, serializes."""

from flask import current_app

from ..swarm import Swarm

SWARM_EXTENSION = "quartermaster.swarm"


def current_swarm() -> Swarm:
    return current_app.extensions[SWARM_EXTENSION]
