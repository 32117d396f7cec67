"""`qm status`, `qm stop`, `qm logs` and `qm jobs`: one job, or the list."""

import json
import sys

import click

from quartermaster.cli import exit_codes
from quartermaster.cli.app import Connection, json_option, qm, raw_option, report
from quartermaster.cli.output import (
    age,
    duration_between,
    echo,
    is_terminal,
    print_fields,
    print_json,
    print_table,
)
from quartermaster.cli.parsing import key_values, since_time
from quartermaster.cli.terminal import output_writer
from quartermaster.client import STATUSES, Job, QuartermasterError

ID_WIDTH = 12
DEFAULT_ROWS = 20


@qm.command()
@click.argument("job")
@click.option("--wait", type=click.FloatRange(0, 60), help="Seconds to wait for the job to end.")
@json_option
@click.pass_obj
def status(connection: Connection, job: str, wait: float | None, as_json: bool) -> None:
    """Where JOB stands (JOB: its id, name or id prefix)."""
    with connection.client() as client:
        found = client.status(job, wait=wait)
    if as_json:
        print_json(found.document)
    else:
        print_fields([(name, _text(value)) for name, value in found.document.items()])


@qm.command()
@click.argument("jobs", nargs=-1, required=True)
@json_option
@click.pass_obj
def stop(connection: Connection, jobs: tuple[str, ...], as_json: bool) -> None:
    """Stop each JOB (its output is kept); prints the ids stopped."""
    stopped, failed = [], False
    with connection.client() as client:
        for job in jobs:
            try:
                stopped.append(client.stop(job))
            except QuartermasterError as error:
                report(error)
                failed = True
    if as_json:
        print_json([{"id": job_id} for job_id in stopped])
    else:
        for job_id in stopped:
            echo(job_id)
    if failed:
        raise SystemExit(exit_codes.CLIENT_ERROR)


@qm.command()
@click.argument("job")
@click.option("-f", "--follow", is_flag=True, help="Stream new output until the job ends.")
@click.option("--tail", type=click.IntRange(0), help="Only the last N lines.")
@click.option("--since", help="Only output since: UNIX time, 10m back, or an RFC 3339 time.")
@click.option("-t", "--timestamps", is_flag=True, help="Each line with its time.")
@click.option("--stream", type=click.Choice(["stdout", "stderr"]), help="Only this stream.")
@raw_option
@json_option
@click.pass_obj
def logs(connection: Connection, job: str, follow: bool, tail: int | None, since: str | None,
         timestamps: bool, stream: str | None, raw: bool, as_json: bool) -> None:  # fmt: skip
    """JOB's output (both streams, unless --stream). With --json, each line as {"line": ...}.

    To a terminal, control characters (escape sequences) are taken out unless --raw; to a pipe
    or a file, the output is unchanged."""
    start = None if since is None else since_time(since)
    write = output_writer(sys.stdout, raw or as_json, is_terminal(sys.stdout))
    with connection.client() as client:
        for line in client.log_bytes(job, follow, tail, start, timestamps, stream):
            if as_json:
                text = line.removesuffix(b"\n").decode("utf-8", errors="replace")
                line = json.dumps({"line": text}).encode() + b"\n"
            write(line)


@qm.command()
@click.option("--status", "statuses", multiple=True, type=click.Choice(STATUSES),
              help="Only jobs with this status (repeat for several).")  # fmt: skip
@click.option("-l", "--label", "labels", multiple=True, metavar="K=V", help="Only with this label.")
@click.option("--name", help="Only jobs whose name starts with this.")
@click.option("--image", help="Only jobs of this image.")
@click.option("--template", help="Only jobs made from this template.")
@click.option("--limit", type=click.IntRange(1), default=DEFAULT_ROWS, show_default=True,
              help="At most this many jobs.")  # fmt: skip
@click.option("--all", "every", is_flag=True, help="Every job (no --limit).")
@json_option
@click.pass_obj
def jobs(
    connection: Connection,
    statuses: tuple[str, ...],
    labels: tuple[str, ...],
    name: str | None,
    image: str | None,
    template: str | None,
    limit: int,
    every: bool,
    as_json: bool,
) -> None:
    """The jobs, newest first (finished ones for as long as their records are kept)."""
    with connection.client() as client:
        listed = list(
            client.jobs(
                status=list(statuses), labels=key_values(labels, "-l"), name=name, image=image,
                template=template, limit=None if every else limit,
            )
        )  # fmt: skip
    if as_json:
        print_json([job.document for job in listed])
        return
    print_table(
        ["id", "name", "image", "status", "exit", "created", "duration"],
        [job_row(job) for job in listed],
    )


def job_row(job: Job) -> list[str]:
    return [
        job.id[:ID_WIDTH],
        job.name,
        job.image,
        job.status,
        "" if job.exit_code is None else str(job.exit_code),
        age(job.created_at),
        duration_between(job.started_at or job.created_at, job.finished_at)
        if job.status != "pending"
        else "-",
    ]


def _text(value: object) -> str:
    if value is None:
        return "-"
    return value if isinstance(value, str) else json.dumps(value)
