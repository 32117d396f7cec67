"""The request's JSON body, or a 4xx that says what is wrong with it."""

from flask import request

from .errors import ApiError


def json_object() -> dict:
    if not request.is_json:
        raise ApiError(415, "the body must be JSON with Content-Type: application/json")
    body = request.get_json(silent=True)
    if body is None:
        raise ApiError(400, "the body is not valid JSON")
    if not isinstance(body, dict):
        raise ApiError(400, "the body must be a JSON object")
    return body
