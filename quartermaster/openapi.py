"""The OpenAPI 3 document, generated from the app's routes, their `@describe` and the schemas."""

import re

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from flask import Flask

from .api import Operation
from .auth import open_endpoints
from .schemas import REFERENCE_PATTERN, ErrorResponse

TITLE = "quartermaster"
VERSION = "0.1.0"
ERROR_DESCRIPTIONS = {
    400: "invalid request: `fields` names each bad field or parameter",
    401: "token missing or wrong",
    404: "no such job",
    409: "conflict: the name is in use, the Idempotency-Key was used for another request, or "
    "the job reference matches more than one job (use the full id)",
    413: "body over 1 MiB",
    415: "body is not JSON",
    429: "too many long requests (`?wait`, `?follow`) in flight on this worker: retry after "
    "the `Retry-After` header's seconds",
    500: "internal error (logged with the request id)",
    503: "Docker unreachable, or not a swarm manager, or not ready",
}
_PATH_PARAMETER = re.compile(r"<(?:[^:<>]+:)?([^<>]+)>")


def openapi_document(app: Flask, config) -> dict:
    spec = APISpec(
        title=TITLE,
        version=VERSION,
        openapi_version="3.0.3",
        plugins=[MarshmallowPlugin()],
        info={"description": "Run functions-as-a-service jobs on a Docker Swarm."},
    )
    spec.components.security_scheme("bearer", {"type": "http", "scheme": "bearer"})
    spec.components.security_scheme("query", {"type": "apiKey", "in": "query", "name": "token"})
    spec.components.schema("Error", schema=ErrorResponse)
    for rule in sorted(app.url_map.iter_rules(), key=lambda rule: rule.rule):
        operation = getattr(app.view_functions[rule.endpoint], "operation", None)
        if operation is None:
            continue  # Flask's static files
        public = rule.endpoint in open_endpoints(config)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            spec.path(
                path=_PATH_PARAMETER.sub(r"{\1}", rule.rule),
                operations={method.lower(): _operation(operation, rule.arguments, public)},
            )
    document = spec.to_dict()
    _no_null_in_query(document)
    return _ecma_patterns(document)


def _no_null_in_query(document: dict) -> None:
    """A query string cannot carry null: an optional parameter is absent, never null."""
    for item in document["paths"].values():
        for operation in item.values():
            for parameter in operation["parameters"]:
                if parameter["in"] != "query":
                    continue
                schema = parameter["schema"]
                schema.pop("nullable", None)
                if "default" in schema and schema["default"] is None:
                    del schema["default"]
                if "enum" in schema:
                    schema["enum"] = [value for value in schema["enum"] if value is not None]


def _ecma_patterns(node):
    """Python patterns end in \\Z (strict end of text); JSON Schema's ECMA regexes say $."""
    if isinstance(node, dict):
        return {
            key: value[:-2] + "$"
            if key == "pattern" and isinstance(value, str) and value.endswith("\\Z")
            else _ecma_patterns(value)
            for key, value in node.items()
        }
    if isinstance(node, list):
        return [_ecma_patterns(item) for item in node]
    return node


def _operation(operation: Operation, path_arguments: set[str], public: bool) -> dict:
    document = {
        "summary": operation.summary,
        "parameters": _parameters(operation, path_arguments),
        "responses": {"200": _success(operation.response), **_errors(operation, public)},
        "security": [] if public else [{"bearer": []}, {"query": []}],
    }
    if operation.body is not None:
        document["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": operation.body}},
        }
    return document


def _parameters(operation: Operation, path_arguments: set[str]) -> list:
    parameters = [
        {
            "in": "path",
            "name": name,
            "required": True,
            "schema": {"type": "string", "pattern": REFERENCE_PATTERN.pattern},
            "description": "a job's full id, its name, or a prefix of its id: matching one job",
        }
        for name in sorted(path_arguments)
    ]
    if operation.query is not None:
        parameters.append({"in": "query", "schema": operation.query})
    parameters.extend(
        {"in": "header", "name": name, "required": False, "schema": {"type": "string"},
         "description": description}
        for name, description in operation.headers
    )  # fmt: skip
    return parameters


def _success(response) -> dict:
    if isinstance(response, str):
        return {"description": "OK", "content": {response: {"schema": {"type": "string"}}}}
    return {"description": "OK", "content": {"application/json": {"schema": response}}}


def _errors(operation: Operation, public: bool) -> dict:
    codes = set(operation.errors) | {500} | (set() if public else {401})
    return {
        str(code): {
            "description": ERROR_DESCRIPTIONS[code],
            "content": {"application/json": {"schema": "Error"}},
        }
        for code in sorted(codes)
    }
