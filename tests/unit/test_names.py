"""Names that say what they hold: one definition of a shared constant, no module named like
another of our packages (`swarm/client.py` held the Docker connection, not the client)."""

import ast

from support.settings import PROJECT_ROOT

PACKAGE = PROJECT_ROOT / "quartermaster"
TOP_LEVEL = {path.parent.name for path in PACKAGE.glob("*/__init__.py")} | {
    path.stem for path in PACKAGE.glob("*.py") if path.stem != "__init__"
}
# `jobs` is also the resource: `qm jobs` (cli/jobs.py) and `/jobs` (web/api/jobs.py) list jobs.
RESOURCE_NAMES = {"jobs"}


def assignments_of(name: str) -> list[str]:
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            targets = node.targets if isinstance(node, ast.Assign) else []
            if any(isinstance(target, ast.Name) and target.id == name for target in targets):
                found.append(str(path.relative_to(PROJECT_ROOT)))
    return found


def test_nano_is_defined_once_in_the_domains_times():
    assert assignments_of("NANO") == ["quartermaster/jobs/times.py"]


def test_no_module_is_named_like_another_of_our_packages():
    clashes = sorted(
        str(path.relative_to(PROJECT_ROOT))
        for path in PACKAGE.rglob("*.py")
        if path.parent != PACKAGE
        and path.stem in TOP_LEVEL - RESOURCE_NAMES
        and path.stem not in path.relative_to(PACKAGE).parts[:-1]
    )
    assert clashes == []
