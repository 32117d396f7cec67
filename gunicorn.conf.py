"""Settings for plain gunicorn: `gunicorn -c gunicorn.conf.py wsgi:app`.

The same settings as the `quartermaster` command (quartermaster/server/), read from the same
environment variables (TOKEN or TOKEN_FILE, PORT, BIND, WORKERS, WORKER_CONNECTIONS, ...), with
the reaper beside the workers, the JSON access log and the metrics directory.
"""

# First: importing quartermaster.server patches gevent and prepares the metrics directory.
from quartermaster.server.gunicorn_app import gunicorn_options

# isort: split
from quartermaster.process.config import from_env

globals().update(gunicorn_options(from_env()))
