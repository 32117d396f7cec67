"""The `qm` command's entry point: the group (app.py) with every command module's commands."""

import signal

from quartermaster.cli import jobs, nodes, run
from quartermaster.cli.app import qm

COMMANDS = (run, jobs, nodes)  # each module adds its commands to `qm` as it is imported


def main() -> None:
    # A reader that goes away (`qm logs JOB | head`) ends qm quietly, as it does other tools.
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    qm(prog_name="qm")
