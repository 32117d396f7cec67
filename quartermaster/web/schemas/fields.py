"""The fields of the request schemas that marshmallow has no kind for (a command, registry
credentials, JSON's and a query string's numbers and booleans), and the checks fields share."""

import base64
import binascii
import json
import shlex
from collections.abc import Callable, Mapping
from typing import Any

from marshmallow import ValidationError, fields, validate

from quartermaster.jobs.references import is_full_id
from quartermaster.web.schemas.patterns import (
    AUTH_KEYS,
    NO_NUL_PATTERN,
    NOT_TEXT,
    QUERY_INTEGER_PATTERN,
    QUERY_NUMBER_PATTERN,
    REFERENCE_PATTERN,
    REGISTRY_AUTH_FORMAT,
    is_text,
    json_strings,
)

REFERENCE_ERROR = "must be a job id, id prefix or name (letters, digits, _ . -)"


def validate_reference(value: str) -> str:
    if not REFERENCE_PATTERN.match(value):
        raise ValidationError(REFERENCE_ERROR)
    return value


def validate_job_name(name: str) -> None:
    """A name of the form of swarm's ids could pass for another job's id: refused."""
    if is_full_id(name):
        raise ValidationError("looks like a job id (25 lower-case letters and digits)")


def validate_path_reference(value: str) -> None:
    """A job reference from the URL path; the error names `id`."""
    try:
        validate_reference(value)
    except ValidationError as error:
        raise ValidationError({"id": error.messages}) from None


class Command(fields.Field):
    """A string split like a shell would (no shell runs it), or a list of strings."""

    def _deserialize(
        self, value: object, attr: str | None, data: Mapping[str, Any] | None, **kwargs
    ) -> tuple[str, ...]:
        if isinstance(value, str):
            try:
                argv = shlex.split(value)
            except ValueError as error:
                raise ValidationError(f"cannot be split into arguments: {error}") from None
        elif isinstance(value, list) and all(isinstance(arg, str) for arg in value):
            argv = value
        else:
            raise ValidationError("must be a string or a list of strings")
        if not argv:
            raise ValidationError("must not be empty")
        if any("\x00" in arg for arg in argv):
            raise ValidationError("must not contain NUL characters")
        return tuple(argv)


class RegistryAuth(fields.String):
    """base64 (standard or URL-safe, padding optional) of a Docker auth JSON object."""

    def __init__(self, **kwargs) -> None:
        # What decode_registry_auth takes, for the document. JSON Schema's content keywords
        # describe it but assert nothing, so the format names it for clients and fuzzers.
        content = {
            "type": "object",
            "properties": {key: {"type": "string"} for key in sorted(AUTH_KEYS)},
            "additionalProperties": False,
            "anyOf": [
                {"required": ["username", "password"],
                 "properties": {"username": {"minLength": 1}, "password": {"minLength": 1}}},
                {"required": ["identitytoken"], "properties": {"identitytoken": {"minLength": 1}}},
            ],
        }  # fmt: skip
        json_schema = {
            "format": REGISTRY_AUTH_FORMAT,
            "contentEncoding": "base64",
            "contentMediaType": "application/json",
            "contentSchema": content,
        }
        super().__init__(metadata={"json_schema": json_schema}, **kwargs)

    def _deserialize(
        self, value: object, attr: str | None, data: Mapping[str, Any] | None, **kwargs
    ) -> dict[str, str]:
        text = super()._deserialize(value, attr, data, **kwargs)
        return decode_registry_auth(text)


def decode_registry_auth(text: str) -> dict[str, str]:
    urlsafe = text.strip().replace("+", "-").replace("/", "_").rstrip("=")
    try:
        raw = base64.b64decode(urlsafe + "=" * (-len(urlsafe) % 4), altchars=b"-_", validate=True)
        auth = json.loads(raw)
    except (binascii.Error, ValueError, RecursionError):
        raise ValidationError("must be base64 of a Docker auth JSON object") from None
    if not isinstance(auth, dict):
        raise ValidationError("must be base64 of a Docker auth JSON object")
    unknown = sorted(set(auth) - AUTH_KEYS)
    if unknown:
        raise ValidationError(f"unknown keys in the auth object: {', '.join(unknown)}")
    if not all(isinstance(v, str) for v in auth.values()):
        raise ValidationError("every value in the auth object must be a string")
    if not all(is_text(text) for text in json_strings(auth)):
        raise ValidationError(f"every value in the auth object {NOT_TEXT}")
    if not (auth.get("username") and auth.get("password")) and not auth.get("identitytoken"):
        raise ValidationError("the auth object needs a username and a password")
    return auth


class JsonInteger(fields.Integer):
    """A JSON number without a fraction: 3, or 3.0 (which JSON and JSON Schema do not tell
    apart from 3); never "3", true or 3.5."""

    def __init__(self, **kwargs) -> None:
        super().__init__(strict=True, **kwargs)

    def _deserialize(
        self, value: object, attr: str | None, data: Mapping[str, Any] | None, **kwargs
    ) -> int | None:
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        return super()._deserialize(value, attr, data, **kwargs)


class JsonBoolean(fields.Boolean):
    """A JSON true or false, nothing else (marshmallow's Boolean takes 0, 1, "yes" and more)."""

    def _deserialize(
        self, value: object, attr: str | None, data: Mapping[str, Any] | None, **kwargs
    ) -> bool:
        if not isinstance(value, bool):
            raise ValidationError("must be true or false")
        return value


class StrictFloat(fields.Float):
    """A JSON number (not a string, not a boolean), finite."""

    def _deserialize(
        self, value: object, attr: str | None, data: Mapping[str, Any] | None, **kwargs
    ) -> float | None:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValidationError("must be a number")
        return super()._deserialize(value, attr, data, **kwargs)


class QueryNumber(fields.Float):
    """A number in a query string, written as in JSON (QUERY_NUMBER_PATTERN)."""

    def _deserialize(
        self, value: object, attr: str | None, data: Mapping[str, Any] | None, **kwargs
    ) -> float | None:
        if not (isinstance(value, str) and QUERY_NUMBER_PATTERN.match(value)):
            raise self.make_error("invalid")
        return super()._deserialize(value, attr, data, **kwargs)


class QueryInteger(fields.Integer):
    """An integer in a query string, written as in JSON (QUERY_INTEGER_PATTERN)."""

    def _deserialize(
        self, value: object, attr: str | None, data: Mapping[str, Any] | None, **kwargs
    ) -> int | None:
        if not (isinstance(value, str) and QUERY_INTEGER_PATTERN.match(value)):
            raise self.make_error("invalid")
        return super()._deserialize(value, attr, data, **kwargs)


class QueryBoolean(fields.Boolean):
    """true or false, as a client made from the document writes a boolean in a query string."""

    def __init__(self, **kwargs) -> None:
        invalid = {"invalid": "must be true or false"}
        super().__init__(truthy={"true"}, falsy={"false"}, error_messages=invalid, **kwargs)


def no_nul(what: str) -> validate.Regexp:
    return validate.Regexp(NO_NUL_PATTERN, error=f"{what} must be free of NUL characters")


def at_most_bytes(limit: int) -> Callable[[Mapping[str, str]], None]:
    """A dictionary's keys and values together, in UTF-8: the one limit here that no JSON
    Schema keyword states (the document says it in the field's description)."""

    def check(items: Mapping[str, str]) -> None:
        size = sum(len(key.encode()) + len(value.encode()) for key, value in items.items())
        if size > limit:
            raise ValidationError(
                f"at most {limit // 1024} KiB of keys and values in all (UTF-8); {size} bytes given"
            )

    return check
