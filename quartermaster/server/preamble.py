"""What must come before anything else a quartermaster process imports, done once as this module
is imported: the package's __init__ imports it, so importing any entry point runs it first.

1. gevent's patch of the standard library. gunicorn's gevent workers patch it when they start;
   patching the master too makes both agree (ssl, threading, logging), and makes what the master
   creates before forking (such as `lifecycle.stopping`) gevent's.
   Before it, the `server` extra is looked for: `pip install quartermaster` is the client alone,
   and without the extra the command says what to install instead of ending in an ImportError.
2. the metrics directory, shared by the processes of this instance: prometheus_client reads
   PROMETHEUS_MULTIPROC_DIR when it is first imported.
"""

import importlib.util
import sys

# pyproject.toml's `server` extra by import name (psycopg matters only with PostgreSQL's STORE_URL).
SERVER_EXTRA = (
    "gevent", "gunicorn", "flask", "marshmallow", "apispec", "docker", "prometheus_client",
    "sqlalchemy", "alembic", "cryptography", "cronsim",
)  # fmt: skip
MISSING_EXTRA = (
    "quartermaster needs {missing}, which the client alone does not install: "
    "pip install 'quartermaster[server]'"
)

_missing = [name for name in SERVER_EXTRA if importlib.util.find_spec(name) is None]
if _missing:
    sys.exit(MISSING_EXTRA.format(missing=", ".join(_missing)))

from gevent import monkey  # noqa: E402

monkey.patch_all()

from quartermaster.process.metrics_directory import prepare_metrics_directory  # noqa: E402

prepare_metrics_directory()
