"""What `qm` prints: rich tables when stdout is a terminal, plain aligned text otherwise (no
escape codes in a pipe), JSON documents for scripts, and messages on stderr."""

import json
import sys
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import click

BAR_WIDTH = 10


def is_terminal() -> bool:
    return sys.stdout.isatty()


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
        click.echo(f"{name + ':':<{width}} {value}")


def warn(message: str) -> None:
    click.echo(f"qm: {message}", err=True)


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

    table = Table(box=None, header_style="bold")
    for header in headers:
        table.add_column(header.upper(), no_wrap=True)
    for row in rows:
        table.add_row(*row)
    Console().print(table)
