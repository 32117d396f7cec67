"""The app factory: settings, the job runtime, hooks, error handlers and blueprints (the API's,
one per endpoint, and the dashboard's)."""

from flask import Flask

from quartermaster.jobs.runtime import JobRuntime
from quartermaster.process import config as configuration
from quartermaster.service import JobService
from quartermaster.store import RecordStore
from quartermaster.swarm.runtime import Swarm
from quartermaster.web.access_log import install_access_log
from quartermaster.web.api import (
    health,
    history,
    jobs,
    logs,
    metrics,
    nodes,
    openapi_json,
    run,
    status,
    stop,
)
from quartermaster.web.auth import install_token_check, searchable_token
from quartermaster.web.browser_policy import install_browser_policy
from quartermaster.web.context import QuartermasterFlask
from quartermaster.web.errors import register_error_handlers
from quartermaster.web.ui.pages import blueprint as dashboard

BLUEPRINTS = (
    health.blueprint,
    run.blueprint,
    stop.blueprint,
    status.blueprint,
    history.blueprint,
    jobs.blueprint,
    logs.blueprint,
    nodes.blueprint,
    openapi_json.blueprint,
    metrics.blueprint,
    dashboard,
)


def create_app(
    config: configuration.Config | None = None,
    runtime: JobRuntime | None = None,
    store: RecordStore | None = None,
) -> Flask:
    """The WSGI app over `runtime` (by default the swarm of `config`) and `store` (by default
    the record store of `config`). Without a config, settings come from the environment."""
    config = config or configuration.from_env()
    # Made here, connected lazily: each gunicorn worker opens its own Docker connection and its
    # own pool of store connections.
    service = JobService(runtime or Swarm(config), store or RecordStore(config.store_url), config)
    app = QuartermasterFlask(service, config)
    app.config["MAX_CONTENT_LENGTH"] = config.max_body_bytes
    install_access_log(app, searchable_token(config.token))
    install_token_check(app, config)
    install_browser_policy(app)
    register_error_handlers(app)
    for blueprint in BLUEPRINTS:
        app.register_blueprint(blueprint)
    return app
