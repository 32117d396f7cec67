"""The entry points: the `quartermaster` command, gunicorn's application and its hooks, and the
worker class that answers gunicorn's own errors in JSON.

Importing this package starts a quartermaster process, and first does what must come before
anything else is imported, in this one place:

1. gevent's patch of the standard library. gunicorn's gevent workers patch it when they start;
   patching the master too makes both agree (ssl, threading, logging), and makes what the master
   creates before forking (such as `lifecycle.stopping`) gevent's.
2. the metrics directory, shared by the processes of this instance: prometheus_client reads
   PROMETHEUS_MULTIPROC_DIR when it is first imported.

Every entry point (the command, gunicorn.conf.py, scripts/bare_server.py) imports from this
package, so none of them orders its own imports.
"""

from gevent import monkey

monkey.patch_all()

from quartermaster.process.metrics_directory import prepare_metrics_directory  # noqa: E402

prepare_metrics_directory()
