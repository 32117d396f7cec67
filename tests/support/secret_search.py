"""Secrets never in a log: what a tier's run logs is kept and, at its end, searched for them."""

import contextlib
import logging
from collections.abc import Callable, Iterator
from pathlib import Path

from quartermaster.process.json_logging import JsonFormatter


@contextlib.contextmanager
def logs_searched_for(
    secrets: Callable[[], dict[str, str]],
    directory: Path,
    other_logs: Callable[[], dict[Path, int]] = dict,
) -> Iterator[None]:
    """While the block runs, keep this process's log records as the server writes them (JSON
    lines, INFO and up) in `directory`; after it, search them and `other_logs()` (each from the
    offset given, or whole if it was rewritten meanwhile) for every value of `secrets()`."""
    in_process = directory / "in-process.log"
    handler = logging.FileHandler(in_process)
    handler.setFormatter(JsonFormatter())
    handler.setLevel(logging.INFO)
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    try:
        yield
    finally:
        root.removeHandler(handler)
        root.setLevel(level)
        handler.close()
    found = []
    for path, start in {in_process: 0, **other_logs()}.items():
        if not path.exists():
            continue
        with path.open("rb") as log:
            log.seek(start if path.stat().st_size >= start else 0)
            text = log.read().decode(errors="replace")
        found += [f"{name} in {path}" for name, value in secrets().items() if value in text]
    assert not found, f"secrets in the logs: {found}"
