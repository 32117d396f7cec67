"""The Engine API's `filters` parameter, written as docker-py writes it (without importing
docker-py into the server: 6 MB a process), and the server's processes importing neither it nor
requests on the Unix-socket path."""

import subprocess
import sys

import pytest
from docker.utils import convert_filters

from quartermaster.swarm.engine import _filters

FILTERS = [
    {"label": ["quartermaster.job=true", "team=a"]},
    {"service": "abc123"},
    {"id": ["a", "b"], "label": "quartermaster.job"},
    {"dangling": True, "until": 10},
    {"name": [3, "x"], "desired-state": False},
]


@pytest.mark.parametrize("filters", FILTERS)
def test_filters_are_written_as_docker_py_writes_them(filters):
    assert _filters(filters) == {"filters": convert_filters(filters)}


def test_no_filters_is_no_parameter():
    assert _filters(None) is None
    assert _filters({}) is None


def test_the_server_imports_neither_docker_py_nor_requests_for_a_unix_socket():
    imported = subprocess.run(
        [
            sys.executable, "-c",
            "import sys; import quartermaster.server.gunicorn_app;"
            "from quartermaster.swarm.transport import transport_for;"
            "transport_for('unix:///var/run/docker.sock', 1);"
            "print(sorted({m.split('.')[0] for m in sys.modules} & {'docker', 'requests'}))",
        ],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert imported.stdout.strip() == "[]", imported.stderr
