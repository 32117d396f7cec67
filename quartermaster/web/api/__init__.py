"""One blueprint per endpoint; each parses, makes one call into the job runtime, serializes.

Each view also says what it takes and answers (`@describe`), from which `openapi.py` generates
the OpenAPI document: the schemas that validate requests are the ones the document shows.
"""

from dataclasses import dataclass

from marshmallow import Schema, fields


@dataclass(frozen=True)
class Operation:
    summary: str
    response: type[Schema] | str  # the 200 answer: a schema, or a media type for plain text
    body: type[Schema] | None = None
    query: type[Schema] | None = None
    errors: tuple[int, ...] = ()  # error codes besides 401 (added unless public) and 500
    headers: tuple[tuple[str, fields.Field], ...] = ()  # optional request headers: (name, field)


def describe(**operation):
    """Attach an `Operation` to a view, for the OpenAPI document."""

    def attach(view):
        view.operation = Operation(**operation)
        return view

    return attach
