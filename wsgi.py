"""The WSGI entry point: `gunicorn wsgi:app`. Settings come from the environment."""

from quartermaster.app import create_app
from quartermaster.json_logging import configure_json_logging

configure_json_logging()
app = create_app()
