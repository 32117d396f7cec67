"""The `qm` command's entry point.

`pip install quartermaster` is the client alone; `qm` needs the `cli` extra (click, rich). This
module imports neither until they are known to be there, so without them `qm` says what to
install instead of ending in an ImportError.
"""

import importlib.util
import signal
import sys

CLI_EXTRA = ("click", "rich")  # pyproject.toml's `cli` extra
EXTRA_REQUIREMENT = "quartermaster[cli]"
MISSING_EXTRA = "qm needs {missing}, which the client alone does not install: pip install '{extra}'"


def missing_dependencies() -> list[str]:
    """The `cli` extra's packages that cannot be imported here."""
    return [name for name in CLI_EXTRA if importlib.util.find_spec(name) is None]


def main() -> None:
    missing = missing_dependencies()
    if missing:
        sys.exit(MISSING_EXTRA.format(missing=" and ".join(missing), extra=EXTRA_REQUIREMENT))
    from quartermaster.cli.all_commands import qm  # click and rich: known to be there now

    # A reader that goes away (`qm logs JOB | head`) ends qm quietly, as it does other tools.
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    qm(prog_name="qm")
