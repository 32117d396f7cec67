"""The client imports only the standard library and requests, the `qm` command only the client,
click and rich: a laptop installs them without the server's dependencies."""

import json
import subprocess
import sys

from support.settings import PROJECT_ROOT

SERVER_SIDE = ("flask", "docker", "sqlalchemy", "gevent", "marshmallow", "gunicorn", "psycopg",
               "prometheus_client", "alembic", "apispec")  # fmt: skip
OTHER_LAYERS = ("jobs", "process", "store", "swarm", "service", "web", "reaper", "server")


def test_importing_the_client_and_the_command_loads_nothing_of_the_server():
    probe = "import sys, json, quartermaster.client, quartermaster.cli\n"
    probe += "print(json.dumps(list(sys.modules)))"
    loaded = json.loads(
        subprocess.run(
            [sys.executable, "-c", probe], capture_output=True, check=True, cwd=PROJECT_ROOT
        ).stdout
    )
    server_side = [name for name in loaded if name.split(".")[0] in SERVER_SIDE]
    layers = [
        name for name in loaded
        if name.startswith("quartermaster.") and name.split(".")[1] in OTHER_LAYERS
    ]  # fmt: skip
    assert (server_side, layers) == ([], [])
    assert "quartermaster.client" in loaded and "quartermaster.cli" in loaded
