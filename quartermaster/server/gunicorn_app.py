"""gunicorn, run in-process over the app `compose_app` makes, with an access log that never shows
the token."""

import logging
import signal
import time
from collections.abc import Callable
from types import FrameType
from typing import Any

from flask import Flask
from gunicorn.app.base import BaseApplication
from gunicorn.glogging import Logger

from quartermaster.compose import compose_app
from quartermaster.jobs.errors import StoreError
from quartermaster.process import lifecycle, metrics
from quartermaster.process.config import Config
from quartermaster.process.json_logging import configure_json_logging
from quartermaster.reaper.supervisor import Supervisor
from quartermaster.server.forked_upgrade import StoreOutOfReach, upgrade_in_a_child
from quartermaster.store import RecordStore
from quartermaster.store.host import SEVERAL_HOSTS, host_identity
from quartermaster.store.schema_check import StoreRefused
from quartermaster.web.redaction import redact_query_tokens

log = logging.getLogger("quartermaster")
ACCESS_LOG_FORMAT = '%(h)s "%(r)s" %(s)s %(b)s %(M)sms request_id=%({x-request-id}o)s'
_SECRET_HEADERS = ("{authorization}i", "{x-registry-auth}i")


class _RedactTokens(logging.Filter):
    """gunicorn's own messages may quote a request line it could not parse: blank `token=`."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg, record.args = redact_query_tokens(record.getMessage()), ()
        return True


class RedactingLogger(Logger):
    """gunicorn's logger, with `token=` values blanked in its messages, and `token=` values and
    credential headers blanked in access lines."""

    def __init__(self, cfg: Any):
        super().__init__(cfg)
        self.error_log.addFilter(_RedactTokens())

    def atoms(self, resp: Any, req: Any, environ: dict, request_time: Any) -> dict:
        atoms = super().atoms(resp, req, environ, request_time)
        for key, value in atoms.items():
            if isinstance(value, str):
                atoms[key] = redact_query_tokens(value)
        for key in _SECRET_HEADERS:
            if key in atoms:
                atoms[key] = "[REDACTED]"
        return atoms


# The reaper, and the templates' schedules beside it (quartermaster/background).
BACKGROUND_MODULE = "quartermaster.background"


def reaper_hooks(config: Config) -> dict:
    """gunicorn hooks that keep one background process (the reaper and the schedules) running
    beside the workers, in the master's lifetime, for the `quartermaster` command and plain
    gunicorn alike."""
    if config.reaper_interval == 0:
        return {}

    def when_ready(arbiter: Any) -> None:
        configure_json_logging()  # the supervisor's lines, in the master, like everyone's
        supervisor = arbiter.reaper_supervisor = Supervisor(config, BACKGROUND_MODULE)
        supervisor.start()
        # The master's loop looks after the workers about once a second: the reaper too. (Not a
        # thread: under gevent that is a greenlet, and each worker forked from the master would
        # carry a copy of it.)
        manage_workers = arbiter.manage_workers

        def manage_workers_and_the_reaper() -> None:
            manage_workers()
            supervisor.check()

        arbiter.manage_workers = manage_workers_and_the_reaper

    def on_exit(arbiter: Any) -> None:
        supervisor = getattr(arbiter, "reaper_supervisor", None)
        if supervisor is not None:  # None: gunicorn stopped before it was ready
            supervisor.stop()

    return {"when_ready": when_ready, "on_exit": on_exit}


def prepare_store(config: Config) -> Callable[[Any], None]:
    """A gunicorn hook: bring the record store's schema up to date (in a child of the master:
    forked_upgrade.py) before the workers and the reaper start (they would each do it at their
    first use otherwise). A store out of reach is no reason not to serve: live jobs need only
    the swarm."""

    def on_starting(arbiter: Any) -> None:
        configure_json_logging()
        try:
            applied = upgrade_in_a_child(config.store_url)
        except (StoreRefused, RuntimeError) as error:
            raise SystemExit(f"quartermaster: {error}") from None
        except StoreOutOfReach as error:
            log.warning("the record store is out of reach at start: %s", error)
            return
        if applied:
            log.info("record store: schema brought to %s", applied[-1])
        warn_of_other_hosts(config.store_url)

    return on_starting


def warn_of_other_hosts(url: str) -> None:
    """On a SQLite store, say so when other hosts used it lately (see store/host.py)."""
    store = RecordStore(url)
    try:
        if store.embedded and (others := store.note_host(*host_identity(), time.time())):
            log.warning(SEVERAL_HOSTS, ", ".join(sorted(set(others))))
    except StoreError:
        pass  # logged by the store; the live API works without it
    finally:
        store.close()  # no connection crosses the fork into the workers


def forget_exited_worker(arbiter: Any, worker: Any) -> None:
    metrics.forget_process(worker.pid)


def end_waits_on_stop(worker: Any) -> None:
    """Once the worker is told to stop, long waits end now, so in-flight requests finish well
    within the stop grace period (Docker's is 10 s) instead of being cut at its end."""

    def handle_exit(signum: int, frame: FrameType | None) -> None:
        lifecycle.stopping.set()
        worker.handle_exit(signum, frame)

    signal.signal(signal.SIGTERM, handle_exit)


def quiet_worker_exit(arbiter: Any, worker: Any) -> None:
    """Flush the worker's logs, then let its handlers go without locking.

    Python drops each logging handler during interpreter shutdown and takes logging's lock to
    forget it; under gevent that lock asks a greenlet that is already finalized who it is, and
    every worker exit printed a "greenlet is being finalized" traceback. Emptying logging's
    (private) handler list first makes those drops lock-free.
    """
    logging.shutdown()
    getattr(logging, "_handlerList", []).clear()  # absent in some future Python: then no-op


def gunicorn_options(config: Config) -> dict:
    return {
        "bind": config.bind_address,
        "workers": config.workers,
        # gevent: a request waiting on Docker (/status?wait, a followed log) costs a greenlet,
        # not a thread, so waiters never starve other requests. (Its own error answers: JSON.)
        "worker_class": "quartermaster.server.worker.JsonErrorsGeventWorker",
        "worker_connections": config.worker_connections,
        "timeout": 60,
        # In-flight requests get this long after SIGTERM: within Docker's default 10 s stop grace.
        "graceful_timeout": 8,
        # The app logs each request as a JSON line (access_log.py); gunicorn's own access log
        # would repeat it.
        "accesslog": None,
        "errorlog": "-",
        "access_log_format": ACCESS_LOG_FORMAT,
        "logger_class": RedactingLogger,
        "child_exit": forget_exited_worker,
        "worker_exit": quiet_worker_exit,
        "post_worker_init": end_waits_on_stop,
        "on_starting": prepare_store(config),
        **reaper_hooks(config),
    }


class Server(BaseApplication):
    def __init__(self, config: Config):
        self._config = config
        super().__init__()

    def load_config(self) -> None:
        for key, value in gunicorn_options(self._config).items():
            self.cfg.set(key, value)

    def load(self) -> Flask:
        # Called in each worker after the fork (no preload), so each makes its own Docker client.
        configure_json_logging()
        return compose_app(self._config)
