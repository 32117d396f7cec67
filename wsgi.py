"""The WSGI entry point: `gunicorn wsgi:app`. Settings come from the environment."""

from quartermaster.compose import compose_app
from quartermaster.process.json_logging import configure_json_logging

configure_json_logging()
app = compose_app()
