"""Each `__init__.py` of the package only names what its package holds: a docstring, imports and
`__all__`, no code. Code there runs whenever any module of the package is imported, and loads
whatever it imports: a pure module would drag in the package's heaviest dependencies."""

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

from support.settings import PROJECT_ROOT

PACKAGE = PROJECT_ROOT / "quartermaster"
INITS = sorted(PACKAGE.rglob("__init__.py"))


def is_docstring(statement: ast.stmt) -> bool:
    return (
        isinstance(statement, ast.Expr)
        and isinstance(statement.value, ast.Constant)
        and isinstance(statement.value.value, str)
    )


def is_all(statement: ast.stmt) -> bool:
    """`__all__ = [...]` (or a tuple) of names."""
    return (
        isinstance(statement, ast.Assign)
        and [getattr(target, "id", None) for target in statement.targets] == ["__all__"]
        and isinstance(statement.value, ast.List | ast.Tuple)
        and all(
            isinstance(name, ast.Constant) and isinstance(name.value, str)
            for name in statement.value.elts
        )
    )


def code_in(path: Path) -> list[str]:
    """The statements of `path` other than its docstring, imports and `__all__`."""
    body = ast.parse(path.read_text()).body
    if body and is_docstring(body[0]):
        body = body[1:]
    return [
        f"line {statement.lineno}: {ast.unparse(statement)[:60]}"
        for statement in body
        if not (isinstance(statement, ast.Import | ast.ImportFrom) or is_all(statement))
    ]


def test_the_package_has_its_init_files():
    assert PACKAGE / "__init__.py" in INITS and PACKAGE / "swarm" / "__init__.py" in INITS


@pytest.mark.parametrize("path", INITS, ids=lambda path: str(path.relative_to(PACKAGE)))
def test_an_init_file_holds_only_a_docstring_imports_and_all(path):
    assert code_in(path) == []


def test_the_check_finds_code_in_an_init_file(tmp_path):
    path = tmp_path / "__init__.py"
    path.write_text('"""Doc."""\n\nimport a\nfrom b import c\n\n__all__ = ["c"]\nc()\nx = 1\n')
    assert [line.split(": ", 1)[1] for line in code_in(path)] == ["c()", "x = 1"]


def test_importing_the_swarms_pure_status_module_loads_no_docker_requests_or_metrics():
    heavy = ("docker", "requests", "prometheus_client")
    loaded = subprocess.run(
        [sys.executable, "-c", "import quartermaster.swarm.status, sys; "
         f"print(' '.join(name for name in {heavy!r} if name in sys.modules))"],
        env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT)},
        capture_output=True, text=True, check=True, timeout=60,
    )  # fmt: skip
    assert loaded.stdout.split() == []
