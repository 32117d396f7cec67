"""What must come before anything else a quartermaster process imports, done once as this module
is imported: the package's __init__ imports it, so importing any entry point runs it first.

1. gevent's patch of the standard library. gunicorn's gevent workers patch it when they start;
   patching the master too makes both agree (ssl, threading, logging), and makes what the master
   creates before forking (such as `lifecycle.stopping`) gevent's.
2. the metrics directory, shared by the processes of this instance: prometheus_client reads
   PROMETHEUS_MULTIPROC_DIR when it is first imported.
"""

from gevent import monkey

monkey.patch_all()

from quartermaster.process.metrics_directory import prepare_metrics_directory  # noqa: E402

prepare_metrics_directory()
