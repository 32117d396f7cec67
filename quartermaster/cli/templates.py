"""`qm templates ...` and `qm dispatch`: jobs defined once (docs/templates.md), run by dispatch,
attached by default like `qm run`."""

import json
import sys
from pathlib import Path
from typing import Any

import click

from quartermaster.cli import exit_codes
from quartermaster.cli.app import Connection, json_option, qm, raw_option, report
from quartermaster.cli.jobs import ID_WIDTH
from quartermaster.cli.output import echo, print_fields, print_json, print_table
from quartermaster.cli.parsing import key_values
from quartermaster.cli.run import launch
from quartermaster.client import ConnectionFailed, QuartermasterError, Redirected, Template


@qm.group()
def templates() -> None:
    """Templates: jobs defined once, run with `qm dispatch` (a key needs `templates`)."""


def read_body(path: Path) -> dict[str, Any]:
    """A template's body from a JSON or YAML file (`-`: standard input, JSON)."""
    text = sys.stdin.read() if str(path) == "-" else path.read_text()
    try:
        body = _yaml(text, path) if path.suffix in (".yaml", ".yml") else json.loads(text)
    except ValueError as error:
        raise click.BadParameter(f"{path}: not valid JSON or YAML: {error}") from None
    if not isinstance(body, dict):
        raise click.BadParameter(f"{path}: a template is an object of /run's fields and more")
    return body


def _yaml(text: str, path: Path) -> object:
    """YAML's, with PyYAML (`make install` installs it; the cli extra does not need it)."""
    try:
        import yaml
    except ImportError:
        raise click.UsageError(f"{path}: reading YAML needs PyYAML (pip install pyyaml)") from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise ValueError(str(error)) from None


FILE_OPTION = click.option(
    "-f",
    "--file",
    "path",
    required=True,
    type=click.Path(dir_okay=True, allow_dash=True, path_type=Path),
    help="The template as JSON, or YAML (a .yaml or .yml file); - reads standard input.",
)


@templates.command("create")
@FILE_OPTION
@json_option
@click.pass_obj
def create(connection: Connection, path: Path, as_json: bool) -> None:
    """Make a template from FILE: /run's fields, its `name` and `parameters`."""
    with connection.client() as client:
        show(client.create_template(read_body(path)), as_json)


@templates.command("list")
@json_option
@click.pass_obj
def list_templates(connection: Connection, as_json: bool) -> None:
    """The token's templates."""
    with connection.client() as client:
        found = client.templates()
    if as_json:
        print_json({"templates": [template.document for template in found]})
        return
    rows = [
        [
            template.name,
            template.request.get("image", ""),
            ", ".join(template.required) or "-",
            ", ".join(template.optional) or "-",
            schedule_words(template),
        ]
        for template in found
    ]
    print_table(["name", "image", "required", "optional", "schedule"], rows)


@templates.command("show")
@click.argument("name")
@json_option
@click.pass_obj
def show_template(connection: Connection, name: str, as_json: bool) -> None:
    """A template, with its request and parameters."""
    with connection.client() as client:
        show(client.template(name), as_json)


@templates.command("update")
@click.argument("name")
@FILE_OPTION
@json_option
@click.pass_obj
def update(connection: Connection, name: str, path: Path, as_json: bool) -> None:
    """Change template NAME: the fields FILE gives replace its own (null: the default)."""
    with connection.client() as client:
        show(client.update_template(name, **read_body(path)), as_json)


@templates.command("delete")
@click.argument("name")
@click.pass_obj
def delete(connection: Connection, name: str) -> None:
    """Remove a template (the jobs it made, and their history, stay)."""
    with connection.client() as client:
        client.delete_template(name)
    echo(f"template {name} removed")


def show(template: Template, as_json: bool) -> None:
    if as_json:
        print_json(template.document)
        return
    request = template.request
    command = request.get("command")
    print_fields(
        [
            ("name", template.name),
            ("tenant", template.tenant or "(the operator's)"),
            ("image", str(request.get("image", ""))),
            ("command", " ".join(command) if command else "(the image's)"),
            ("memory", f"{request.get('memory')} MB"),
            ("required", ", ".join(template.required) or "-"),
            ("optional", ", ".join(template.optional) or "-"),
            ("auth", "kept (sealed)" if template.auth_kept else "none"),
            ("schedule", schedule_words(template)),
            *schedule_fields(template),
        ]
    )


def schedule_words(template: Template) -> str:
    schedule = template.schedule
    if schedule is None:
        return "-"
    return f"{schedule['description']}{', paused' if schedule['paused'] else ''}"


def schedule_fields(template: Template) -> list[tuple[str, str]]:
    """The schedule's fields but its words: its cron, overlap, catch-up and next ticks."""
    schedule = template.schedule
    if schedule is None:
        return []
    next_ticks = [moment.isoformat() for moment in template.next_ticks]
    return [
        ("cron", f"{schedule['cron']} ({schedule['timezone']})"),
        ("overlap", schedule["overlap"]),
        ("catch_up", f"{schedule['catch_up']} s"),
        ("next", ", ".join(next_ticks[:3]) or "-"),
    ]


@templates.command("runs")
@click.argument("name")
@click.option("--limit", type=click.IntRange(1), default=20, show_default=True,
              help="At most this many ticks.")  # fmt: skip
@json_option
@click.pass_obj
def runs(connection: Connection, name: str, limit: int, as_json: bool) -> None:
    """The ticks of template NAME's schedule, newest first: fired (its job and its status),
    skipped, missed or failed to start (and why)."""
    with connection.client() as client:
        ticks = list(client.template_runs(name, limit=limit))
    if as_json:
        print_json([{**vars(tick), "tick": tick.tick and tick.tick.isoformat()} for tick in ticks])
        return
    rows = [
        [
            tick.tick.isoformat() if tick.tick else "-",
            tick.outcome,
            tick.job_id[:ID_WIDTH] if tick.job_id else "-",
            tick.status or "-",
            tick.reason or "",
        ]
        for tick in ticks
    ]
    print_table(["tick", "outcome", "job", "status", "reason"], rows)


@qm.command()
@click.argument("name")
@click.option("-m", "--meta", multiple=True, metavar="K=V",
              help="A parameter's value: the job's env QM_META_<K> (repeat).")  # fmt: skip
@click.option("--memory", type=int, help="MB: instead of the template's.")
@click.option("--cpus", type=float, help="CPUs: instead of the template's.")
@click.option("--timeout", type=int, help="Seconds: instead of the template's.")
@click.option("--payload", "payload_path", type=click.Path(dir_okay=False, allow_dash=True,
              path_type=Path), help="A file (- : stdin) the job reads as /qm/payload.")  # fmt: skip
@click.option("-d", "--detach", is_flag=True, help="Print the job's id and return.")
@click.option("--stop-on-signal/--no-stop-on-signal", default=True, show_default=True,
              help="Attached: Ctrl-C, SIGTERM and SIGHUP stop the job (as qm run).")  # fmt: skip
@raw_option
@json_option
@click.pass_obj
def dispatch(connection: Connection, name: str, meta: tuple[str, ...], detach: bool,
             payload_path: Path | None, stop_on_signal: bool, raw: bool, as_json: bool,
             **overrides: Any) -> None:  # fmt: skip
    """Run the job template NAME defines, attached like `qm run` (its output, its exit code)."""
    given = {key: value for key, value in overrides.items() if value is not None}
    values = key_values(meta, "-m")
    payload = None
    if payload_path is not None:
        payload = sys.stdin.buffer.read() if str(payload_path) == "-" else payload_path.read_bytes()
    launch(connection, lambda: started(connection, name, values, given, payload),
           detach, stop_on_signal, raw, as_json)  # fmt: skip


def started(
    connection: Connection, name: str, meta: dict, overrides: dict, payload: bytes | None
) -> str:
    """The dispatched job's id; a refusal exits 125, as `qm run`'s."""
    with connection.client() as client:
        try:
            return client.dispatch(name, meta, overrides=overrides, payload=payload)
        except (ConnectionFailed, Redirected):
            raise
        except QuartermasterError as error:
            report(error)
            raise SystemExit(exit_codes.REFUSED) from None
