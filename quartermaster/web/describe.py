"""What each route takes and answers, declared on its view (`@describe`): the OpenAPI document
(openapi.py) is generated from it, and the token check (auth.py) reads from it which routes are
public. The dashboard's views are pages (`@page`), not operations of the API: no token, and not
in the document. A leaf module: the blueprints and openapi.py import it, it imports neither.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from flask.typing import ResponseReturnValue
from marshmallow import Schema, fields

from quartermaster.process.config import Config

ANY_KEY = "any key"


@dataclass(frozen=True)
class Operation:
    summary: str
    response: type[Schema] | str  # the success: a schema, or a media type for plain text
    body: type[Schema] | None = None
    query: type[Schema] | None = None
    errors: tuple[int, ...] = ()  # error codes besides 401 (added unless public) and 500
    headers: tuple[tuple[str, fields.Field], ...] = ()  # optional request headers: (name, field)
    not_modified: bool = False  # answers carry an ETag, and If-None-Match may get a 304
    # No token needed: always (True), or when the settings say so (a function of them).
    public: bool | Callable[[Config], bool] = False
    # What a tenant's key needs to be let through (the operator's token always is): one of
    # jobs.tenancy.RIGHTS, ANY_KEY (any key that works), or None: the operator's token alone.
    right: str | None = None
    status: int = 200  # the success's (201: made)

    def is_public(self, settings: Config) -> bool:
        return self.public(settings) if callable(self.public) else self.public


View = TypeVar("View", bound=Callable[..., ResponseReturnValue])


def describe(**operation) -> Callable[[View], View]:
    """Attach an `Operation` to a view."""

    def attach(view: View) -> View:
        # Not `view.operation = ...`: no Callable type declares that attribute; __dict__ takes it.
        view.__dict__["operation"] = Operation(**operation)
        return view

    return attach


def page(view: View) -> View:
    """Mark a view as a page of the dashboard (web/ui): it needs no token, as it holds no data
    (the page's own calls to the API carry the token), and it is no operation of the API."""
    view.__dict__["page"] = True
    return view


def is_page(view: Callable | None) -> bool:
    return getattr(view, "page", False) is True


def operation_of(view: Callable | None) -> Operation | None:
    """The view's `Operation`, or None for a view without one (Flask's static files)."""
    return getattr(view, "operation", None)
