"""`python -m quartermaster.background`: the background process. The reaper's rounds
(reaper/reaper.py) and, in a thread beside them, the templates' schedules
(service/schedules.py), until SIGTERM or SIGINT, or until its parent is gone. An entry point of
its own: it composes the schedules' use cases, which the reaper's layer does not see."""

import sys
import threading

from quartermaster.compose import compose_scheduler
from quartermaster.process.config import Config
from quartermaster.process.json_logging import configure_json_logging
from quartermaster.reaper.reaper import Reaper, settings_of, stop_on_signals

SCHEDULER_STOP_SECONDS = 10  # for the ticks being fired to be recorded


def run(config: Config, parent: int | None = None) -> None:
    configure_json_logging()
    stop = stop_on_signals()
    scheduler = compose_scheduler(config)
    thread = threading.Thread(target=scheduler.run_forever, args=(stop,), name="schedules")
    thread.start()
    try:
        Reaper(config).run_forever(stop, parent)
    finally:
        stop.set()
        thread.join(SCHEDULER_STOP_SECONDS)
        scheduler.close()


if __name__ == "__main__":
    run(*settings_of(sys.argv[1:]))
