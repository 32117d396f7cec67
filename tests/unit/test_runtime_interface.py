"""The HTTP layer calls the job service (service/jobs.py), whose use cases are the runtime's own
(jobs/runtime.py), with the same parameters (but for what the service works out for the runtime),
with history behind them (but for those only the history answers, and a page's tag); the swarm
runtime and the in-memory one both have the runtime's interface."""

import inspect
import re

import pytest

from quartermaster.jobs.runtime import JobRuntime
from quartermaster.service import JobService
from quartermaster.swarm.runtime import Swarm
from support.fake_runtime import FakeRuntime
from support.settings import PROJECT_ROOT

METHODS = sorted(name for name in vars(JobRuntime) if not name.startswith("_"))
USE_CASES = sorted(
    name for name, value in vars(JobService).items() if callable(value) and name[0] != "_"
)
# A job's request and timeline (only its record keeps them), and what the store holds.
HISTORY_ONLY = ["job_history", "store_size"]
# What the service works out and hands the runtime: an Idempotency-Key's hashes, computed once,
# whether a job is made held (its tenant's quota caps live jobs), and the tenant whose jobs a
# reference may mean (the actor's, or every job for the operator).
WORKED_OUT_BY_THE_SERVICE = {
    "create_job": ["key", "held"],
    "job_status": ["tenant"],
    "job_logs": ["tenant"],
    "stop_job": ["tenant"],
}
# The use cases of jobs take whose request it is first (the runtime is handed what follows).
TAKE_THE_ACTOR = {"create_job", "job_status", "job_logs", "stop_job", "list_jobs", "job_history"}
# What only the store decides: whether a page is still the one a client's tag names.
DECIDED_BY_THE_STORE = {"list_jobs": ["if_none_match"]}


def test_the_web_layer_calls_exactly_the_services_use_cases():
    called = set()
    for path in (PROJECT_ROOT / "quartermaster" / "web").rglob("*.py"):
        called |= set(re.findall(r"context\.jobs\(\)\.(\w+)\(", path.read_text()))
    assert sorted(called) == USE_CASES


@pytest.mark.parametrize("use_case", sorted(set(USE_CASES) - set(HISTORY_ONLY)))
def test_each_use_case_is_the_runtimes_method_of_that_name(use_case):
    worked_out = WORKED_OUT_BY_THE_SERVICE.get(use_case, [])
    runtimes = parameters(getattr(JobRuntime, use_case))
    given = [parameter for parameter in runtimes if parameter[0] not in worked_out]
    store_only = DECIDED_BY_THE_STORE.get(use_case, [])
    services = parameters(getattr(JobService, use_case))
    if use_case in TAKE_THE_ACTOR:
        assert services[1][0] == "actor"
        del services[1]
    assert [parameter for parameter in services if parameter[0] not in store_only] == given


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
