"""Removing a job's service without leaving its tasks behind.

swarmkit's replicated-jobs orchestrator does not clean up after a removed service: the tasks it
had not yet placed (pending, desired complete) stay in the manager's raft store forever, up to a
job's every completion. They are never scheduled, but every task listing carries them: a few
thousand made every `/tasks` call megabytes long and every job listing seconds slow. Setting the
job's completions to zero first makes the orchestrator drop them itself.
"""

import contextlib
from collections.abc import Callable

from quartermaster.jobs.errors import SWARM_CALL_ERRORS
from quartermaster.swarm.engine import EngineClient
from quartermaster.swarm.payloads import payloads_of, remove_payload

# The orchestrator itself updates a replicated-job's service (its job status) as runs start and
# end, so the version read may be stale by the time of the update: read it again and retry.
ATTEMPTS = 3


def remove_job_service(engine: EngineClient, service: dict) -> None:
    """Remove the service; a replicated-job's unplaced tasks are dropped first, and its payload
    goes after it (best effort). The removal's errors are raised (JobNotFound: it was removed
    meanwhile)."""
    if "ReplicatedJob" in service["Spec"].get("Mode", {}):
        _drop_unplaced_tasks(engine, service)
    engine.remove_service(service["ID"])
    for config_id in payloads_of(service):
        remove_payload(engine, config_id)


def update_on_fresh_read(
    engine: EngineClient, service: dict, new_spec: Callable[[dict], dict]
) -> None:
    """Update the service to `new_spec(its spec)` against its version; refused, read it again
    and retry, ATTEMPTS times in all (the last refusal is raised)."""
    for attempt in range(ATTEMPTS):
        if attempt:
            service = engine.inspect_service(service["ID"])
        try:
            engine.update_service(
                service["ID"], service["Version"]["Index"], new_spec(service["Spec"])
            )
            return
        except SWARM_CALL_ERRORS:
            if attempt == ATTEMPTS - 1:
                raise


def _drop_unplaced_tasks(engine: EngineClient, service: dict) -> None:
    """Set the job's completions to zero. Best effort: refused, the removal goes ahead."""

    def no_completions(spec: dict) -> dict:
        mode = {"ReplicatedJob": {**spec["Mode"]["ReplicatedJob"], "TotalCompletions": 0}}
        return {**spec, "Mode": mode}

    with contextlib.suppress(*SWARM_CALL_ERRORS):
        update_on_fresh_read(engine, service, no_completions)
