"""The app factory: the service it is given (quartermaster/compose.py builds it), settings, hooks,
error handlers and blueprints (the API's, one per endpoint, and the dashboard's)."""

from flask import Flask

from quartermaster.process import config as configuration
from quartermaster.service import JobService, TemplateService, TenantService
from quartermaster.web.access_log import install_access_log
from quartermaster.web.api import (
    audit,
    health,
    history,
    jobs,
    keys,
    logs,
    metrics,
    nodes,
    openapi_json,
    run,
    status,
    stop,
    templates,
    tenants,
    usage,
    whoami,
)
from quartermaster.web.auth import install_actor_check
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
    tenants.blueprint,
    keys.blueprint,
    whoami.blueprint,
    audit.blueprint,
    usage.blueprint,
    templates.blueprint,
    openapi_json.blueprint,
    metrics.blueprint,
    dashboard,
)


def create_app(
    service: JobService,
    tenants: TenantService,
    templates: TemplateService,
    config: configuration.Config,
) -> Flask:
    """The WSGI app over the use cases (`service`: jobs; `tenants`; `templates`), with
    `config`'s settings."""
    app = QuartermasterFlask(service, tenants, templates, config)
    app.config["MAX_CONTENT_LENGTH"] = config.max_body_bytes
    install_access_log(app, config.token)
    install_actor_check(app, config)
    install_browser_policy(app)
    register_error_handlers(app)
    for blueprint in BLUEPRINTS:
        app.register_blueprint(blueprint)
    return app
