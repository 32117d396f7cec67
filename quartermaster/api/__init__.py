"""One blueprint per endpoint; each parses, makes one call into the swarm layer, serializes."""

from flask import current_app, request

from ..errors import ApiError
from ..swarm import Swarm

SWARM_EXTENSION = "quartermaster.swarm"


def current_swarm() -> Swarm:
    return current_app.extensions[SWARM_EXTENSION]


def json_body() -> dict:
    """The request's JSON object, or a 4xx that says what is wrong with it."""
    if not request.is_json:
        raise ApiError(415, "the body must be JSON with Content-Type: application/json")
    body = request.get_json(silent=True)
    if body is None:
        raise ApiError(400, "the body is not valid JSON")
    if not isinstance(body, dict):
        raise ApiError(400, "the body must be a JSON object")
    return body
