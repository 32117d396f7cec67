"""`qm run`: start a job, and by default stay attached to it like `docker run`."""

from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from quartermaster.cli import exit_codes
from quartermaster.cli.app import Connection, json_option, qm, raw_option, report
from quartermaster.cli.attach import attach
from quartermaster.cli.output import print_json, warn
from quartermaster.cli.parsing import environment, key_values, registry_auth
from quartermaster.cli.signals import exit_status_of, taken_as_ctrl_c
from quartermaster.client import ConnectionFailed, Job, QuartermasterError, Redirected

EXAMPLES = """\b
Examples:
  qm run qm/busybox:latest echo hi
  qm run qm/busybox:latest sh -c 'echo out; echo err >&2; exit 3'   # exits 3
  qm run --memory 512 --cpus 0.5 -e TOKEN -e MODE=fast -l team=a user/image:1 python job.py
  qm run -d --timeout 600 --ttl 3600 qm/busybox:latest sleep 300
  qm run --completions 4 --parallelism 2 qm/busybox:latest sh -c 'echo one run'
  qm run --registry-auth-file creds.json registry:5000/private/image:1
"""


@qm.command(
    epilog=EXAMPLES + "\n" + exit_codes.HELP,
    context_settings={"allow_interspersed_args": False},  # options after IMAGE are COMMAND's
)
@click.option("--name", help="The job's name (a swarm service name).")
@click.option("--memory", type=int, help="MB: the job's limit and reservation.")
@click.option("--cpus", type=float, help="CPUs: the job's limit and reservation.")
@click.option(
    "-e",
    "--env",
    "env",
    multiple=True,
    metavar="K=V",
    help="An environment variable; K alone takes K's value from here.",
)
@click.option("-l", "--label", "labels", multiple=True, metavar="K=V", help="A label.")
@click.option(
    "--constraint",
    "constraints",
    multiple=True,
    help="A placement constraint, e.g. node.labels.zone==a.",
)
@click.option("--timeout", type=int, help="Seconds the job may run before it is stopped.")
@click.option("--retries", type=int, help="Runs again a failed run, up to this many times.")
@click.option("--ttl", type=int, help="Seconds the job's record is kept once it ends.")
@click.option("--completions", type=int, help="A replicated job: runs that must succeed.")
@click.option("--parallelism", type=int, help="A replicated job: runs at once.")
@click.option("--callback-url", help="Where to POST the job's status once it ends.")
@click.option(
    "--registry-auth-file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="A JSON file {username, password, ...} for a private registry.",
)
@click.option("-d", "--detach", is_flag=True, help="Print the job's id and return.")
@click.option(
    "--stop-on-signal/--no-stop-on-signal",
    default=True,
    show_default=True,
    help="Attached: Ctrl-C, SIGTERM (timeout, kill, a cancelled CI job) and SIGHUP (the terminal "
    "closed) stop the job. --no-stop-on-signal: qm exits at once with the signal's status "
    "(130, 143, 129) and leaves the job running.",
)
@raw_option
@json_option
@click.argument("image")
@click.argument("command", nargs=-1, type=click.UNPROCESSED)
@click.pass_obj
def run(connection: Connection, image: str, command: tuple[str, ...], detach: bool,
        stop_on_signal: bool, raw: bool, as_json: bool, **options: Any) -> None:  # fmt: skip
    """Run IMAGE (with COMMAND and its arguments, or the image's default) as a job.

    Attached (the default): shows why the job is pending, streams its stdout and stderr as it
    prints, and exits with its exit code. Ctrl-C stops the job; a second Ctrl-C leaves it
    running. SIGTERM and SIGHUP stop it as Ctrl-C does (qm exits 143, 129). With --json, the
    job's final status document is printed instead of its output. To a terminal, the output's
    control characters (escape sequences) are taken out unless --raw; to a pipe or a file, it is
    unchanged.
    """
    fields = request_fields(**options)
    launch(connection, lambda: start(connection, image, command, fields),
           detach, stop_on_signal, raw, as_json)  # fmt: skip


def launch(
    connection: Connection,
    start_job: Callable[[], str],
    detach: bool,
    stop_on_signal: bool,
    raw: bool,
    as_json: bool,
) -> None:
    """Start a job (`start_job`: its id) and, unless `detach`, stay attached to it until it
    ends; then exit with its status (qm run's, qm dispatch's)."""
    if detach:
        job_id = start_job()
        if as_json:
            print_json({"id": job_id})
        else:
            click.echo(job_id)
        return
    with taken_as_ctrl_c():
        job_id = start_job()
        ended = attach(connection.client, job_id, not as_json, raw, stop_on_signal)
    if as_json:
        print_json(ended.job.document)
    if ended.interrupt is not None:
        raise SystemExit(exit_status_of(ended.interrupt))
    raise SystemExit(ending_code(ended.job))


def start(
    connection: Connection, image: str, command: tuple[str, ...], fields: dict[str, Any]
) -> str:
    """The new job's id; a refusal exits 125, an interrupt before the answer 130 (143, 129)."""
    with connection.client() as client:
        try:
            return client.run(image, list(command) or None, **fields)
        except (ConnectionFailed, Redirected):
            raise  # the server never answered, or is elsewhere: exit 1, as for any command
        except QuartermasterError as error:
            report(error)
            raise SystemExit(exit_codes.REFUSED) from None
        except KeyboardInterrupt as interrupt:
            warn("interrupted before the server answered: the job may have started")
            raise SystemExit(exit_status_of(interrupt)) from None


def request_fields(
    env: tuple[str, ...],
    labels: tuple[str, ...],
    constraints: tuple[str, ...],
    registry_auth_file: Path | None,
    completions: int | None,
    parallelism: int | None,
    **given: Any,
) -> dict[str, Any]:
    """The fields of /run the options give (those not given are left to the server)."""
    fields = {key: value for key, value in given.items() if value is not None}
    if env:
        fields["env"] = environment(env)
    if labels:
        fields["labels"] = key_values(labels, "-l")
    if constraints:
        fields["constraints"] = list(constraints)
    if registry_auth_file is not None:
        fields["auth"] = registry_auth(registry_auth_file)
    if completions is not None or parallelism is not None:
        fields |= {"type": "job", "completions": completions, "parallelism": parallelism}
    return fields


def ending_code(job: Job) -> int:
    """The exit status for the ended job, with the reason on stderr when it has no exit code of
    its own."""
    code = exit_codes.exit_code_of(job)
    if not job.is_final:
        warn(f"job {job.id} is still {job.status}")
    elif code in (exit_codes.REFUSED, exit_codes.TIMED_OUT, exit_codes.NO_EXIT_CODE):
        warn(f"job {job.id} {job.status}: {job.error or 'no reason given'}")
    return code
