"""One interface between the HTTP layer and a job runtime (jobs/runtime.py): what the web layer
calls is what it declares, and the swarm runtime and the in-memory one both have it."""

import inspect
import re

import pytest

from quartermaster.jobs.runtime import JobRuntime
from quartermaster.swarm import Swarm
from support.fake_runtime import FakeRuntime
from support.settings import PROJECT_ROOT

METHODS = sorted(name for name in vars(JobRuntime) if not name.startswith("_"))


def test_the_web_layer_calls_exactly_the_interfaces_methods():
    called = set()
    for path in (PROJECT_ROOT / "quartermaster" / "web").rglob("*.py"):
        called |= set(re.findall(r"context\.jobs\(\)\.(\w+)\(", path.read_text()))
    assert sorted(called) == METHODS


def parameters(function) -> list[tuple[str, object, bool]]:
    """Each parameter's name, kind and whether it has a default."""
    return [
        (parameter.name, parameter.kind, parameter.default is not parameter.empty)
        for parameter in inspect.signature(function).parameters.values()
    ]


@pytest.mark.parametrize("runtime", [Swarm, FakeRuntime])
@pytest.mark.parametrize("method", METHODS)
def test_each_runtime_has_each_method_with_its_parameters(runtime, method):
    assert parameters(getattr(runtime, method)) == parameters(getattr(JobRuntime, method))
