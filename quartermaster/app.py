"""The app factory: configuration, the swarm layer, hooks, error handlers and blueprints."""

from flask import Flask, Response, jsonify

from . import config as configuration
from .access_log import install_access_log
from .api import (
    SWARM_EXTENSION,
    health,
    jobs,
    logs,
    metrics,
    nodes,
    openapi_json,
    run,
    status,
    stop,
)
from .auth import install_token_check, searchable_token
from .errors import register_error_handlers
from .long_requests import EXTENSION as LONG_REQUESTS_EXTENSION
from .long_requests import LongRequests
from .swarm import Swarm

BLUEPRINTS = (
    health.blueprint,
    run.blueprint,
    stop.blueprint,
    status.blueprint,
    jobs.blueprint,
    logs.blueprint,
    nodes.blueprint,
    openapi_json.blueprint,
    metrics.blueprint,
)


class JsonFlask(Flask):
    """Flask, but its automatic answer to OPTIONS is JSON too, like every other answer."""

    def make_default_options_response(self) -> Response:
        allowed = super().make_default_options_response().allow
        response = jsonify(success=True, allow=sorted(allowed))
        response.allow.update(allowed)
        return response


def create_app(config: configuration.Config | None = None) -> Flask:
    """The WSGI app. Without a config, settings come from the environment."""
    config = config or configuration.from_env()
    app = JsonFlask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = config.max_body_bytes
    app.json.sort_keys = False
    # Made here, connected lazily: each gunicorn worker opens its own Docker connection.
    app.extensions[SWARM_EXTENSION] = Swarm(config)
    app.extensions[LONG_REQUESTS_EXTENSION] = LongRequests(config.max_long_requests)  # per worker
    install_access_log(app, searchable_token(config.token))
    install_token_check(app, config)
    register_error_handlers(app)
    for blueprint in BLUEPRINTS:
        app.register_blueprint(blueprint)
    return app
