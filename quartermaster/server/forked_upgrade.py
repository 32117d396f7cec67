"""The master's schema upgrade and check, run in a forked child: Alembic (10 MB) is imported
there, and stays out of the master and of every worker forked from it (store/schema_check.py)."""

import json
import os
import sys
import tempfile
from typing import IO

from sqlalchemy.exc import SQLAlchemyError

from quartermaster.store import schema_check
from quartermaster.store.connection import first_line


class StoreOutOfReach(ConnectionError):
    """The store could not be reached to check it; the first line of why."""


def upgrade_in_a_child(url: str) -> list[str]:
    """What migrate.upgrade(url) returns (the revisions applied), from a child of this process;
    its refusal as StoreRefused, the store out of reach as StoreOutOfReach. The store is then
    noted as checked, for the processes this one forks."""
    # The answer comes back in a file both share, read once the child has ended: a pipe's end
    # closed under gevent is closed only when its loop next runs, and a blocking read of the
    # pipe would never let it.
    with tempfile.TemporaryFile("w+") as answer:
        pid = os.fork()
        if pid == 0:
            _answer_and_exit(url, answer)
        os.waitpid(pid, 0)
        answer.seek(0)
        text = answer.read()
    kind, value = json.loads(text) if text else ("failed", "the child ended without an answer")
    if kind == "refused":
        raise schema_check.StoreRefused(value)
    if kind == "out of reach":
        raise StoreOutOfReach(value)
    if kind == "failed":
        raise RuntimeError(f"the record store's schema check failed: {value}")
    schema_check.note_checked(url)
    return list(value)


def _answer_and_exit(url: str, answer: IO[str]) -> None:
    """In the child: the upgrade's outcome, as JSON in `answer`; then the child ends, whatever
    happened (never returning into the master's code)."""
    try:
        json.dump(_outcome(url), answer)
        answer.flush()
    finally:
        sys.stderr.flush()
        os._exit(0)


def _outcome(url: str) -> tuple[str, object]:
    try:
        from quartermaster.store import migrate

        return ("applied", migrate.upgrade(url))
    except schema_check.StoreRefused as error:
        return ("refused", str(error))
    except (SQLAlchemyError, OSError) as error:
        return ("out of reach", first_line(error))
    except Exception as error:
        return ("failed", f"{type(error).__name__}: {first_line(error)}")
