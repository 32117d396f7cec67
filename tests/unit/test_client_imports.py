"""The client imports only the standard library and requests, the `qm` command only the client,
click and rich: a laptop installs them without the server's dependencies. `pip install
quartermaster` is the client alone; `[cli]` adds `qm`'s click and rich, `[server]` the rest."""

import ast
import json
import re
import subprocess
import sys
import tomllib

import pytest

from support.settings import PROJECT_ROOT

SERVER_SIDE = ("flask", "docker", "sqlalchemy", "gevent", "marshmallow", "gunicorn", "psycopg",
               "prometheus_client", "alembic", "apispec")  # fmt: skip
CLI_SIDE = ("click", "rich")
OTHER_LAYERS = ("jobs", "process", "store", "swarm", "service", "web", "reaper", "server")
PROJECT = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text())["project"]


def loaded_by(statements: str) -> list[str]:
    probe = f"import sys, json\n{statements}\nprint(json.dumps(list(sys.modules)))"
    return json.loads(
        subprocess.run(
            [sys.executable, "-c", probe], capture_output=True, check=True, cwd=PROJECT_ROOT
        ).stdout
    )


def of_packages(loaded: list[str], packages: tuple[str, ...]) -> list[str]:
    return [name for name in loaded if name.split(".")[0] in packages]


def test_importing_the_client_and_the_command_loads_nothing_of_the_server():
    loaded = loaded_by("import quartermaster.client, quartermaster.cli.all_commands")
    layers = [
        name for name in loaded
        if name.startswith("quartermaster.") and name.split(".")[1] in OTHER_LAYERS
    ]  # fmt: skip
    assert (of_packages(loaded, SERVER_SIDE), layers) == ([], [])
    assert "quartermaster.client" in loaded and "quartermaster.cli.run" in loaded


def test_the_client_alone_loads_neither_click_nor_rich():
    loaded = loaded_by("import quartermaster.client")
    assert of_packages(loaded, CLI_SIDE) == []


def test_a_plain_install_is_the_client_and_each_side_has_its_extra():
    assert PROJECT["dependencies"] == ["requests"]
    extras = PROJECT["optional-dependencies"]
    assert set(extras) == {"cli", "server"}
    assert extras["cli"] == list(CLI_SIDE)
    assert "rich" not in extras["server"] and "flask" not in extras["cli"]


def test_requirements_pin_every_dependency_of_every_extra():
    # make install and the image install requirements.txt, then the package without its deps.
    pinned = {
        re.split(r"[\[=]", line)[0].lower()
        for line in (PROJECT_ROOT / "requirements.txt").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }
    declared = PROJECT["dependencies"] + [
        name for names in PROJECT["optional-dependencies"].values() for name in names
    ]
    assert {re.split(r"[\[=<>]", name)[0].lower() for name in declared} <= pinned


def run_without(missing: str, command_module: str) -> subprocess.CompletedProcess:
    """A command's `main` run with `missing` unimportable (a None in sys.modules is how Python
    marks a module that cannot be imported)."""
    probe = (
        f"import sys; sys.modules[{missing!r}] = None\nfrom {command_module} import main\nmain()"
    )
    return subprocess.run(
        [sys.executable, "-c", probe, "--help"], capture_output=True, text=True, cwd=PROJECT_ROOT
    )


@pytest.mark.parametrize(
    ("command", "command_module", "extra", "missing"),
    [
        *[("qm", "quartermaster.cli.command", "cli", missing) for missing in CLI_SIDE],
        ("quartermaster", "quartermaster.server.command", "server", "gevent"),
        ("quartermaster", "quartermaster.server.command", "server", "sqlalchemy"),
    ],
)
def test_a_command_without_its_extra_says_what_to_install(command, command_module, extra, missing):
    done = run_without(missing, command_module)
    assert (done.returncode, done.stdout) == (1, "")
    assert done.stderr == (
        f"{command} needs {missing}, which the client alone does not install: "
        f"pip install 'quartermaster[{extra}]'\n"
    )


def test_the_server_looks_for_its_whole_extra():
    # Read, not imported: importing the preamble would patch this test process for gevent.
    preamble = ast.parse((PROJECT_ROOT / "quartermaster/server/preamble.py").read_text())
    [looked_for] = [
        ast.literal_eval(node.value)
        for node in preamble.body
        if isinstance(node, ast.Assign) and ast.unparse(node.targets[0]) == "SERVER_EXTRA"
    ]
    declared = {
        re.split(r"[\[=<>]", name)[0].lower().replace("-", "_")
        for name in PROJECT["optional-dependencies"]["server"]
    }
    assert set(looked_for) == declared - {"psycopg"}
