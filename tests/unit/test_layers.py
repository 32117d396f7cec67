"""The package's layers: every import points down (or within its own package), never in a circle.

    server  ->  compose  ->  web  ->  service  ->  store
                        ->  swarm, store
            ->  reaper  ->  swarm, store
    background  ->  reaper, compose
    swarm  ->  process  ->  jobs;  store  ->  jobs
    cli  ->  client

`jobs` (the domain) imports nothing of ours outside itself; `web` and `reaper` never import each
other; only `compose` (the assembly) builds the runtime and the store for the web app, and only
`server` (the entry points) may import everything. The user's side stands apart:
`client` imports nothing of ours outside itself, and `cli` only the client (a laptop installs
them without the server's dependencies).
"""

import ast
import itertools
from graphlib import CycleError, TopologicalSorter
from pathlib import Path

import pytest

from support.settings import PROJECT_ROOT

PACKAGE = PROJECT_ROOT / "quartermaster"
# What each layer may import besides itself.
ALLOWED = {
    "jobs": set(),
    "process": {"jobs"},
    "store": {"jobs"},
    "swarm": {"jobs", "process"},
    "service": {"jobs", "process", "store"},
    "web": {"jobs", "process", "service"},
    "reaper": {"jobs", "process", "store", "swarm"},
    "compose": {"jobs", "process", "service", "store", "swarm", "web"},
    "server": {"jobs", "process", "store", "swarm", "web", "reaper", "compose"},
    "background": {"jobs", "process", "reaper", "compose"},
    "client": set(),
    "cli": {"client"},
}


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path) -> set[str]:
    """The modules of ours that `path` imports (absolute, as the package writes them)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.level:
            raise AssertionError(f"{path}: relative import (the package imports absolutely)")
        names = []
        if isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        found.update(name for name in names if name.split(".")[0] == "quartermaster")
    return found


MODULES = {module_name(path): path for path in PACKAGE.rglob("*.py")}
GRAPH = {
    module: {name for name in imports_of(path) if name in MODULES and name != module}
    for module, path in MODULES.items()
}


def layer(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in ALLOWED else None


# The domain is pure: it opens no socket, starts no thread or process (a callback
# host's lookup is process/callback_lookup.py's; jobs/callback_addresses.py keeps the policy).
IO_MODULES = {"socket", "threading", "subprocess", "requests", "http", "urllib.request"}


def standard_imports_of(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


@pytest.mark.parametrize("module", sorted(m for m in MODULES if layer(m) == "jobs"))
def test_the_domain_does_no_io(module):
    assert standard_imports_of(MODULES[module]) & IO_MODULES == set()


def test_every_module_is_in_a_layer():
    loose = [m for m in MODULES if layer(m) is None and m not in ("quartermaster",)]
    assert loose == []


@pytest.mark.parametrize("module", sorted(MODULES))
def test_imports_point_down(module):
    own = layer(module)
    if own is None:
        return
    upward = sorted(name for name in GRAPH[module] if layer(name) not in ALLOWED[own] | {own, None})
    assert upward == [], f"{module} ({own}) imports {upward}"


def test_no_module_imports_in_a_circle():
    # A package's __init__ importing its own modules is not a circle of meaning: leave those out.
    edges = {
        module: {name for name in names if not (MODULES[module].name == "__init__.py"
                                                 and name.startswith(module + "."))}
        for module, names in GRAPH.items()
    }  # fmt: skip
    try:
        list(TopologicalSorter(edges).static_order())
    except CycleError as error:
        pytest.fail(f"import cycle: {' -> '.join(error.args[1])}")


def test_the_layers_themselves_form_no_circle():
    layers = {(layer(a), layer(b)) for a, names in GRAPH.items() for b in names}
    pairs = {(a, b) for a, b in layers if a and b and a != b}
    assert not [(a, b) for a, b in itertools.combinations(ALLOWED, 2) if {(a, b), (b, a)} <= pairs]


def test_only_the_app_factory_imports_the_blueprints():
    blueprints = {module for module in MODULES if module.startswith("quartermaster.web.api.")}
    importers = {
        module
        for module, names in GRAPH.items()
        if names & (blueprints | {"quartermaster.web.api"}) and module not in blueprints
    }
    assert importers == {"quartermaster.web.app"}
