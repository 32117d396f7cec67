"""The SQLite store's files, owner-only: DATA_DIR 0700, the database, its WAL and SHM 0600.

The records hold requests, labels and kept logs, which may be anything a job printed. SQLite
creates a database file 0644 (less the umask) and gives its WAL and SHM files the database
file's own mode, so the file is made here, empty and 0600, before SQLite opens it: an empty file
is a new database to SQLite, and the WAL and SHM follow its mode. A store made before this (0644)
is narrowed to 0600 at the next start; a DATA_DIR that exists already is left as it is (it may
be a volume or a directory its operator shares on purpose).
"""

import os
import stat
from pathlib import Path

import sqlalchemy as sa

DIRECTORY_MODE = 0o700
FILE_MODE = 0o600
# SQLite's own files beside the database: its write-ahead log and its shared-memory index.
COMPANIONS = ("-wal", "-shm")


def database_file(url: str) -> str | None:
    """The file of a SQLite store's URL; None for any other store (or SQLite in memory)."""
    address = sa.make_url(url)
    if address.get_backend_name() != "sqlite" or address.database in (None, "", ":memory:"):
        return None
    return address.database


def prepare(database: str) -> None:
    """Make the database's directory (0700) and the database file (0600) unless they exist, and
    narrow an existing database file and its companions of ours to 0600."""
    path = Path(database)
    path.parent.mkdir(mode=DIRECTORY_MODE, parents=True, exist_ok=True)
    os.close(os.open(path, os.O_RDONLY | os.O_CREAT, FILE_MODE))
    for name in (database, *(database + suffix for suffix in COMPANIONS)):
        _owner_only(name)


def _owner_only(name: str) -> None:
    try:
        status = os.stat(name)
    except FileNotFoundError:
        return
    if status.st_uid == os.geteuid() and stat.S_IMODE(status.st_mode) & 0o077:
        os.chmod(name, stat.S_IMODE(status.st_mode) & ~0o077)
