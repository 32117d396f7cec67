"""The WSGI entry point: `gunicorn wsgi:app`. Settings come from the environment."""

from quartermaster.process.json_logging import configure_json_logging
from quartermaster.web.app import create_app

configure_json_logging()
app = create_app()
