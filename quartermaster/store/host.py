"""Which host this process runs on, as the record store tells hosts apart."""

import socket
from pathlib import Path

BOOT_ID = Path("/proc/sys/kernel/random/boot_id")
SEVERAL_HOSTS = (
    "this SQLite record store is used from other hosts too (%s): SQLite's locks do not cross "
    "hosts, so writes may be lost; give every instance the same PostgreSQL (DATABASE_URL)"
)


def host_identity() -> tuple[str, str]:
    """(boot id, hostname): one boot id per running kernel, so containers of one host share it."""
    try:
        boot_id = BOOT_ID.read_text().strip()
    except OSError:
        boot_id = ""
    return boot_id or socket.gethostname(), socket.gethostname()
