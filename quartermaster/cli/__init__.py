"""The `qm` command: run jobs on a quartermaster server and watch them, like `docker run`.

It imports only the client (quartermaster.client), click and rich: a laptop installs it without
the server's dependencies.
"""

import signal

from quartermaster.cli import jobs, nodes, run
from quartermaster.cli.app import qm

COMMANDS = (run, jobs, nodes)  # each module adds its commands to `qm` as it is imported


def main() -> None:
    # A reader that goes away (`qm logs JOB | head`) ends qm quietly, as it does other tools.
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    qm(prog_name="qm")
