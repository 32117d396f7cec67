"""How make test-lab hands the lab tier's tests to its processes (pytest-xdist): a module, or an
xdist_group, to one process at a time, the slowest modules first. tests/lab/conftest.py takes
these hooks."""

import pytest
from xdist.scheduler import LoadScopeScheduling

# Modules that take minutes, started first: make test-lab hands modules to its processes in
# collection order, and a long module handed out last would be the whole run's tail.
SLOWEST_MODULES = (
    "test_stack.py",
    "test_fuzzing.py",
    "test_fuzzing_another_seed.py",
    "test_schedules_lab.py",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The slowest modules first; each module's tests in their order (the sort is stable)."""

    def rank(item: pytest.Item) -> int:
        name = item.path.name
        return SLOWEST_MODULES.index(name) if name in SLOWEST_MODULES else len(SLOWEST_MODULES)

    items.sort(key=rank)


class ModuleOrGroupScheduling(LoadScopeScheduling):
    """pytest-xdist's scheduling by module (`--dist loadfile`), but for the tests of an
    xdist_group, which go to one process whichever their modules: `--dist loadgroup` marks their
    node ids `...@group`."""

    def _split_scope(self, nodeid: str) -> str:
        if nodeid.rfind("@") > nodeid.rfind("]"):  # a `]`: a parameter may hold an @
            return nodeid.split("@")[-1]
        return nodeid.split("::", 1)[0]


@pytest.hookimpl(tryfirst=True, optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log) -> ModuleOrGroupScheduling:
    return ModuleOrGroupScheduling(config, log)
