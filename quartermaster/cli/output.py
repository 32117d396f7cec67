"""What `qm` prints: rich tables when stdout is a terminal, plain aligned text otherwise (no
escape codes in a pipe), JSON documents for scripts, and messages on stderr. On a terminal, text
from the server or a job is shown as text: rich markup in it is not read, and control
characters are taken out (see terminal.py)."""

import contextlib
import json
import sys
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, TextIO

import click

from quartermaster.cli.terminal import printable

BAR_WIDTH = 10


def is_terminal(stream: TextIO | None = None) -> bool:
    """Whether `stream` (default stdout) is a terminal."""
    return (stream or sys.stdout).isatty()


def echo(text: str) -> None:
    """A line on stdout of text from the server: without control characters on a terminal."""
    click.echo(printable(text) if is_terminal() else text)


def print_json(document: Any) -> None:
    click.echo(json.dumps(document, indent=2 if is_terminal() else None))


def print_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    if is_terminal():
        _rich_table(headers, rows)
    else:
        click.echo(plain_table(headers, rows), nl=False)


def plain_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Columns padded to their widest cell, two spaces apart, headers upper-case (as docker's)."""
    lines = [[header.upper() for header in headers], *rows]
    widths = [max(len(line[column]) for line in lines) for column in range(len(headers))]
    return "".join(
        "  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip()
        + "\n"
        for line in lines
    )


def print_fields(pairs: Sequence[tuple[str, str]]) -> None:
    """`name: value` lines, the values aligned."""
    width = max(len(name) for name, _ in pairs) + 1
    for name, value in pairs:
        echo(f"{name + ':':<{width}} {value}")


def warn(message: str) -> None:
    """A message on stderr. It may quote the server (its errors): never a control character.
    A stderr that is gone (a closed terminal answers EIO, a closed pipe EPIPE) loses the message
    but stops nothing: after a hang-up, `qm run` still has its job to stop."""
    with contextlib.suppress(OSError):
        click.echo(f"qm: {printable(message)}", err=True)


def bar(used: float, capacity: float, terminal: bool = False) -> str:
    """How much of `capacity` is used: `[###-------]`, or blocks on a terminal."""
    share = 0.0 if capacity <= 0 else min(1.0, used / capacity)
    filled = int(share * BAR_WIDTH + 0.5)  # half up
    if terminal:
        return "█" * filled + "░" * (BAR_WIDTH - filled)
    return "[" + "#" * filled + "-" * (BAR_WIDTH - filled) + "]"


def age(moment: datetime | None, now: datetime | None = None) -> str:
    """How long ago: `45s ago`, `3m ago`, `2h ago`, `4d ago`."""
    if moment is None:
        return "-"
    return duration((now or datetime.now(UTC)) - moment) + " ago"


def duration_between(start: datetime | None, end: datetime | None) -> str:
    if start is None:
        return "-"
    return duration((end or datetime.now(UTC)) - start)


def duration(span: timedelta) -> str:
    seconds = max(0, int(span.total_seconds()))
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def _rich_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    # Imported only for a terminal: a pipe's output is plain text.
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    table = Table(box=None, header_style="bold")
    for header in headers:
        table.add_column(header.upper(), no_wrap=True)
    for row in rows:  # Text: a cell's `[link=...]` is shown as it is, not read as markup
        table.add_row(*(Text(printable(cell)) for cell in row))
    Console().print(table)
