"""The OpenAPI 3.1 document, generated from the app's routes, their `@describe` and the schemas.

It states exactly what the server takes: each validator is a pattern, a length, a range or an
enum that apispec writes into the document, and JSON Schema 2020-12 (OpenAPI 3.1) says what
OpenAPI 3.0 could not (a dictionary's keys, a rule across fields, a string's content).
"""

import re

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin, OpenAPIConverter
from flask import Flask
from marshmallow import Schema, fields

from quartermaster.jobs.tenancy import NAME_PATTERN
from quartermaster.process.config import Config
from quartermaster.web.describe import Operation, operation_of
from quartermaster.web.errors import ERROR_DESCRIPTIONS
from quartermaster.web.schemas import ErrorResponse
from quartermaster.web.schemas.patterns import REFERENCE_PATTERN

TITLE = "quartermaster"
VERSION = "0.1.0"
ETAG_HEADER = {
    "description": "the page's entity tag, for If-None-Match",
    "required": True,
    "schema": {"type": "string"},
}
NOT_MODIFIED = {
    "description": "Not Modified: the page is still the one If-None-Match names; no body",
    "headers": {"ETag": ETAG_HEADER},
}
_PATH_PARAMETER = re.compile(r"<(?:[^:<>]+:)?([^<>]+)>")
# Python's end of text, \Z, not preceded by another backslash (which would escape it).
_PYTHON_END = re.compile(r"(?<!\\)((?:\\\\)*)\\Z")


def _property_names(converter: OpenAPIConverter, field: fields.Field, **kwargs) -> dict:
    """What a Dict's key field refuses, as propertyNames: apispec shows only the values."""
    if isinstance(field, fields.Dict) and field.key_field is not None:
        return {"propertyNames": converter.field2property(field.key_field)}
    return {}


def _json_schema_metadata(converter: OpenAPIConverter, field: fields.Field, **kwargs) -> dict:
    """metadata["json_schema"]: keywords apispec does not pass on (contentSchema, ...)."""
    return field.metadata.get("json_schema", {})


class _Converter(OpenAPIConverter):
    def init_attribute_functions(self):
        super().init_attribute_functions()
        for function in (_property_names, _json_schema_metadata):
            self.add_attribute_function(function)

    def field2length(self, field: fields.Field, **kwargs) -> dict:
        """A Dict's Length is its number of entries: apispec would write a string's."""
        length = super().field2length(field, **kwargs)
        if isinstance(field, fields.Dict):
            names = {"minLength": "minProperties", "maxLength": "maxProperties"}
            return {names[keyword]: value for keyword, value in length.items()}
        return length

    def schema2jsonschema(self, schema: Schema) -> dict:
        """A schema's JSON_SCHEMA_RULES (what its @validates_schema refuses) join its own."""
        return {**super().schema2jsonschema(schema), **getattr(schema, "JSON_SCHEMA_RULES", {})}


class _Plugin(MarshmallowPlugin):
    Converter = _Converter


def openapi_document(app: Flask, config: Config) -> dict:
    plugin = _Plugin()
    spec = APISpec(
        title=TITLE,
        version=VERSION,
        openapi_version="3.1.0",
        plugins=[plugin],
        info={"description": "Run functions-as-a-service jobs on a Docker Swarm."},
    )
    converter = plugin.converter
    assert converter is not None  # made when the spec took the plugin
    spec.components.security_scheme("bearer", {"type": "http", "scheme": "bearer"})
    spec.components.security_scheme("query", {"type": "apiKey", "in": "query", "name": "token"})
    spec.components.schema("Error", schema=ErrorResponse)
    for rule in sorted(app.url_map.iter_rules(), key=lambda rule: rule.rule):
        operation = operation_of(app.view_functions[rule.endpoint])
        if operation is None:
            continue  # Flask's static files and the dashboard's pages: not the API's
        public = operation.is_public(config)
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            spec.path(
                path=_PATH_PARAMETER.sub(r"{\1}", rule.rule),
                operations={
                    method.lower(): _operation(converter, operation, rule.arguments, public)
                },
            )
    document = spec.to_dict()
    _no_null_in_query(document)
    _configured_settings(document, config)
    return _ecma_patterns(document)


RUN_FIELDS_SCHEMAS = ("RunRequest", "TemplateRequest", "TemplateChange")


def _configured_settings(document: dict, config: Config) -> None:
    """What a setting decides, which a schema class cannot say: /run's ttl is at most MAX_TTL
    (web/api/run.py gives RunRequest the same); its memory and ttl default to MEMORY and
    HISTORY_TTL (the service applies them; the dashboard's Run form shows the memory's)."""
    schemas = document["components"]["schemas"]
    for name in RUN_FIELDS_SCHEMAS:  # /run's fields, and a template's (web/api/templates.py)
        fields = schemas[name]["properties"]
        fields["ttl"]["maximum"] = min(fields["ttl"]["maximum"], config.ttl_limit)
        fields["ttl"]["default"] = config.ttl
        fields["memory"]["default"] = config.memory_mb


def _no_null_in_query(document: dict) -> None:
    """A query string cannot carry null: an optional parameter is absent, never null."""
    for item in document["paths"].values():
        for operation in item.values():
            for parameter in operation["parameters"]:
                if parameter["in"] != "query":
                    continue
                schema = parameter["schema"]
                if isinstance(schema.get("type"), list):
                    types = [kind for kind in schema["type"] if kind != "null"]
                    schema["type"] = types[0] if len(types) == 1 else types
                if "default" in schema and schema["default"] is None:
                    del schema["default"]
                if "enum" in schema:
                    schema["enum"] = [value for value in schema["enum"] if value is not None]


def _ecma_patterns(node: object):
    """Python patterns say \\Z (strict end of text); JSON Schema's ECMA regexes say $."""
    if isinstance(node, dict):
        return {
            key: _PYTHON_END.sub(r"\1$", value)
            if key == "pattern" and isinstance(value, str)
            else _ecma_patterns(value)
            for key, value in node.items()
        }
    if isinstance(node, list):
        return [_ecma_patterns(item) for item in node]
    return node


# What each argument of a path is.
PATH_ARGUMENTS = {
    "job_id": {
        "schema": {"type": "string", "pattern": REFERENCE_PATTERN.pattern},
        "description": "a job's full id, its name, or a prefix of its id: matching one job",
    },
    "name": {
        "schema": {"type": "string", "pattern": NAME_PATTERN.pattern},
        "description": "a tenant's name",
    },
    "key": {
        "schema": {"type": "string", "pattern": NAME_PATTERN.pattern},
        "description": "the name of one of the tenant's keys",
    },
}


def _operation(
    converter: OpenAPIConverter, operation: Operation, path_arguments: set[str], public: bool
) -> dict:
    document = {
        "summary": operation.summary,
        "parameters": _parameters(converter, operation, path_arguments),
        "responses": {
            str(operation.status): _success(operation.response, operation.not_modified),
            **({"304": NOT_MODIFIED} if operation.not_modified else {}),
            **_errors(operation, public),
        },
        "security": [] if public else [{"bearer": []}, {"query": []}],
    }
    if operation.body is not None:
        document["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": operation.body}},
        }
    return document


def _parameters(
    converter: OpenAPIConverter, operation: Operation, path_arguments: set[str]
) -> list:
    parameters = [
        {"in": "path", "name": name, "required": True, **PATH_ARGUMENTS[name]}
        for name in sorted(path_arguments)
    ]
    if operation.query is not None:
        parameters.append({"in": "query", "schema": operation.query})
    for name, field in operation.headers:
        schema = converter.field2property(field)
        description = schema.pop("description")
        parameters.append(
            {"in": "header", "name": name, "required": False, "schema": schema,
             "description": description}
        )  # fmt: skip
    return parameters


def _success(response: type[Schema] | str, tagged: bool) -> dict:
    media_type = response if isinstance(response, str) else "application/json"
    schema = {"type": "string"} if isinstance(response, str) else response
    success: dict = {"description": "OK", "content": {media_type: {"schema": schema}}}
    if tagged:
        success["headers"] = {"ETag": ETAG_HEADER}
    return success


def _errors(operation: Operation, public: bool) -> dict:
    codes = set(operation.errors) | {500} | (set() if public else {401, 403})
    return {
        str(code): {
            "description": ERROR_DESCRIPTIONS[code],
            "content": {"application/json": {"schema": "Error"}},
        }
        for code in sorted(codes)
    }
