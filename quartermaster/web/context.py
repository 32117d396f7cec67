"""What a request's handler reaches: the app that create_app made, with the job service, the
settings and this worker's long-request cap it was handed, each by name and type."""

from typing import Any, cast

from flask import Flask, Response, current_app, g, jsonify
from flask.json.provider import DefaultJSONProvider

from quartermaster.jobs.tenancy import Actor
from quartermaster.process.config import Config
from quartermaster.service import JobService, TemplateService, TenantService
from quartermaster.web.long_requests import LongRequests


class _InOrderJSONProvider(DefaultJSONProvider):
    sort_keys = False  # a document's fields in the order its schema declares them


class QuartermasterFlask(Flask):
    """Flask holding the objects the blueprints use. Its automatic answer to OPTIONS is JSON
    too, like every other answer."""

    json_provider_class = _InOrderJSONProvider

    def __init__(
        self,
        jobs: JobService,
        tenants: TenantService,
        templates: TemplateService,
        settings: Config,
    ):
        super().__init__("quartermaster.web", static_folder=None)  # the dashboard's are its own
        self.jobs = jobs
        self.tenants = tenants
        self.templates = templates
        self.settings = settings
        self.long_requests = LongRequests(settings.long_request_limit)  # per worker process
        self.openapi_document: dict | None = None  # made at the first GET /openapi.json

    def make_response(self, rv: Any) -> Response:
        """A handler's answer as a response; the job a JSON answer is about (its `id`) noted for
        the access line first (access_log.py), so that no body is parsed again for it (a page of
        1,000 jobs would cost as much to parse as to write)."""
        if isinstance(rv, dict) and isinstance(rv.get("id"), str):
            g.answered_job_id = rv["id"]
        return super().make_response(rv)

    def make_default_options_response(self) -> Response:
        allowed = super().make_default_options_response().allow
        response = jsonify(success=True, allow=sorted(allowed))
        response.allow.update(allowed)
        return response


def current() -> QuartermasterFlask:
    return cast(QuartermasterFlask, current_app)


def jobs() -> JobService:
    return current().jobs


def tenants() -> TenantService:
    return current().tenants


def templates() -> TemplateService:
    return current().templates


def actor() -> Actor:
    """Whose request this is: set by the key check (auth.py) before any handler runs."""
    return cast(Actor, g.actor)


def settings() -> Config:
    return current().settings


def long_requests() -> LongRequests:
    return current().long_requests
