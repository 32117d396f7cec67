"""The reaper's process, kept running from the gunicorn master: started, watched, restarted."""

import json
import logging
import os
import subprocess
import sys
import time
from dataclasses import asdict

from quartermaster.process import heartbeat, metrics
from quartermaster.process.config import Config

log = logging.getLogger("quartermaster.reaper")
SETTINGS_ON_STDIN = "--settings-on-stdin"
RESTART_WAIT_SECONDS = (1.0, 60.0)  # before starting a dead reaper again: first, longest


REAPER_MODULE = "quartermaster.reaper"


def start_process(config: Config, module: str = REAPER_MODULE) -> subprocess.Popen:
    """The reaper (or the process `module` runs it in: quartermaster/background) in a fresh
    interpreter; its settings (secrets included) travel on its stdin."""
    process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-m", module, SETTINGS_ON_STDIN], stdin=subprocess.PIPE
    )
    settings = {"config": asdict(config), "parent": os.getpid()}
    assert process.stdin is not None  # stdin=PIPE
    process.stdin.write(json.dumps(settings).encode())
    process.stdin.close()
    return process


class Supervisor:
    """Keeps one reaper process running, from the gunicorn master: a reaper that exits (a crash,
    a SIGKILL, the kernel's OOM killer) is started again, after a wait that doubles while it keeps
    dying young. The master's loop calls `check` about once a second, where it looks after its
    workers (server.reaper_hooks).

    gunicorn's master reaps any child that exits (os.waitpid(-1) on SIGCHLD), the reaper too, so
    its exit status may be gone before we ask for it: Popen.poll() still sees the exit (gevent's
    child watcher records it; without gevent, waitpid's ECHILD makes it 0), and that is all this
    needs.
    """

    def __init__(self, config: Config, module: str = REAPER_MODULE):
        self._config = config
        self._module = module
        self.process: subprocess.Popen | None = None
        self._started_at = 0.0
        self._wait = RESTART_WAIT_SECONDS[0]  # before the next restart
        self._restart_at: float | None = None  # set while the reaper is dead

    def start(self) -> None:
        heartbeat.beat()  # the clock starts now: the reaper's first round has time to end
        self._start_reaper()

    def check(self) -> None:
        """Notice a reaper that exited; start another once its wait is over."""
        now = time.monotonic()
        if self.process is None:
            return  # not started
        if self._restart_at is None:
            if self.process.poll() is None:
                return
            if now - self._started_at >= RESTART_WAIT_SECONDS[1]:
                self._wait = RESTART_WAIT_SECONDS[0]  # it had been running well: no backoff
            log.error(
                "reaper: process %s exited (status %s); starting another in %gs",
                self.process.pid,
                self.process.returncode,
                self._wait,
            )
            self._restart_at = now + self._wait
            self._wait = min(2 * self._wait, RESTART_WAIT_SECONDS[1])
        elif now >= self._restart_at:
            try:
                self._start_reaper()
                metrics.reaper_restarts.inc()
                self._restart_at = None
            except Exception:
                log.exception("reaper: could not start a reaper process; trying again")
                self._restart_at = now + self._wait

    def stop(self) -> None:
        if self.process is not None:
            stop_process(self.process)

    def _start_reaper(self) -> None:
        self.process = start_process(self._config, self._module)
        self._started_at = time.monotonic()


def stop_process(process: subprocess.Popen, timeout: float = 10) -> None:
    process.terminate()
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
