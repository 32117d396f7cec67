"""The SQLite store's files are the owner's alone, whatever the umask: DATA_DIR 0700, the
database, its WAL and its SHM 0600 (they hold requests, labels and whatever jobs printed)."""

import os
import stat

import pytest

from quartermaster.store import RecordStore
from support.store_cases import NOW, a_status


@pytest.fixture
def open_umask():
    """The usual umask (022), which SQLite's own 0644 leaves readable by everyone."""
    previous = os.umask(0o022)
    yield
    os.umask(previous)


def mode_of(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_a_new_store_is_owner_only(tmp_path, open_umask):
    data_dir = tmp_path / "data"
    database = data_dir / "quartermaster.db"
    store = RecordStore(f"sqlite:///{database}")
    try:
        assert store.add(a_status(), {"image": "busybox"}, 60, NOW)
        # While the store is open, SQLite keeps its WAL and SHM files beside the database.
        files = {name: mode_of(f"{database}{name}") for name in ("", "-wal", "-shm")}
        assert files == {"": 0o600, "-wal": 0o600, "-shm": 0o600}
        assert mode_of(data_dir) == 0o700
    finally:
        store.close()


def test_a_store_made_readable_before_is_narrowed_at_the_next_start(tmp_path, open_umask):
    database = tmp_path / "quartermaster.db"
    store = RecordStore(f"sqlite:///{database}")
    assert store.add(a_status(), {"image": "busybox"}, 60, NOW)
    store.close()
    os.chmod(database, 0o644)  # as a store made by an earlier quartermaster
    store = RecordStore(f"sqlite:///{database}")
    try:
        assert store.status(a_status().id).id == a_status().id
        assert mode_of(database) == 0o600
        assert mode_of(f"{database}-wal") == 0o600
    finally:
        store.close()
