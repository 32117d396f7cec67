"""The `qm` group: where the server is and the token, and one place where the server's errors
become a message on stderr and exit status 1."""

import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TextIO, TypeVar

import click

from quartermaster.cli import exit_codes
from quartermaster.cli.output import warn
from quartermaster.cli.signals import exit_status_of
from quartermaster.client import Client, PlainHttpTokenWarning, QuartermasterError

F = TypeVar("F", bound=Callable[..., Any])

EXAMPLES = """\b
Examples:
  export QM_URL=http://localhost:9090 QM_TOKEN_FILE=~/.config/quartermaster/token
  qm run qm/busybox:latest echo hi          # prints hi, exits 0
  qm run --memory 512 -e MODE=fast -l team=a user/image:1 python job.py
  qm run -d qm/busybox:latest sleep 60      # prints the job's id
  qm status --wait 30 JOB
  qm logs -f JOB
  qm jobs --status failed -l team=a
  qm nodes
"""


FLAG_SEEN_IN_PS_WARNING = (
    "warning: --token puts the token on the command line, where other users see it (ps, "
    "/proc/PID/cmdline) and shells keep it (history): prefer --token-file or QM_TOKEN_FILE"
)


@dataclass(frozen=True)
class Connection:
    """Where the server is and how to prove the token: the global options (or QM_* env)."""

    url: str | None
    token: str | None
    token_file: str | None

    def client(self) -> Client:
        try:
            return Client(self.url, self.token, self.token_file)
        except OSError as error:
            raise click.ClickException(f"cannot read the token file: {error}") from None


class QmGroup(click.Group):
    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except QuartermasterError as error:
            report(error)
            ctx.exit(exit_codes.CLIENT_ERROR)
        except KeyboardInterrupt as interrupt:  # e.g. leaving `qm logs -f`: not worth a word
            ctx.exit(exit_status_of(interrupt))


def show_client_warnings() -> None:
    """The client's PlainHttpTokenWarning (once per server) as one of qm's own messages on
    stderr; other warnings as Python shows them."""
    shown = warnings.showwarning
    if getattr(shown, "by_qm", False):
        return

    def show(message: Warning | str, category: type[Warning], filename: str, lineno: int,
             file: TextIO | None = None, line: str | None = None) -> None:  # fmt: skip
        if issubclass(category, PlainHttpTokenWarning):
            warn(f"warning: {message}")
        else:
            shown(message, category, filename, lineno, file, line)

    show.by_qm = True  # type: ignore[attr-defined]
    warnings.showwarning = show


def report(error: QuartermasterError) -> None:
    """The server's message on stderr, with its request id to quote to an operator."""
    request = f" [request {error.request_id}]" if error.request_id else ""
    warn(f"{error}{request}")


def json_option(command: F) -> F:
    return click.option(
        "--json", "as_json", is_flag=True, help="Print the JSON document(s) instead, for scripts."
    )(command)


def raw_option(command: F) -> F:
    return click.option(
        "--raw",
        is_flag=True,
        help="The job's output as it is, control characters included, also to a terminal "
        "(where they are taken out by default: a job's escape sequences could set the title, "
        "write the clipboard...).",
    )(command)


@click.group(cls=QmGroup, epilog=EXAMPLES + "\n" + exit_codes.HELP)
# No click envvar: the client reads QM_URL, QM_TOKEN_FILE and QM_TOKEN itself, in its order
# (--token, then --token-file or QM_TOKEN_FILE, then QM_TOKEN).
@click.option("--url", help="The server. [env QM_URL; default http://localhost:9090]")
@click.option(
    "--token",
    help="The API token: seen by other users in ps and kept in shell history, so prefer "
    "--token-file or QM_TOKEN_FILE. [env QM_TOKEN]",
)
@click.option(
    "--token-file",
    type=click.Path(dir_okay=False),
    help="A file holding the token. [env QM_TOKEN_FILE; wins over QM_TOKEN]",
)
@click.version_option(package_name="quartermaster", prog_name="qm")
@click.pass_context
def qm(ctx: click.Context, url: str | None, token: str | None, token_file: str | None) -> None:
    """Run jobs on a quartermaster server and watch them, like docker run."""
    if token is not None:
        warn(FLAG_SEEN_IN_PS_WARNING)
    show_client_warnings()
    ctx.obj = Connection(url, token, token_file)
