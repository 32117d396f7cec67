"""Settings for plain gunicorn: `gunicorn -c gunicorn.conf.py wsgi:app`.

The same settings as the `quartermaster` command (quartermaster/server.py), read from the same
environment variables (TOKEN or TOKEN_FILE, PORT, BIND, WORKERS, WORKER_CONNECTIONS, ...), with
the reaper beside the workers, the JSON access log and the metrics directory.
"""

# Patch the standard library for gevent before anything else is imported (as the command does).
from gevent import monkey

monkey.patch_all()

from quartermaster.process.config import from_env  # noqa: E402
from quartermaster.process.metrics_directory import prepare_metrics_directory  # noqa: E402

prepare_metrics_directory()  # before prometheus_client is imported, below

from quartermaster.server.gunicorn_app import gunicorn_options  # noqa: E402

globals().update(gunicorn_options(from_env()))
