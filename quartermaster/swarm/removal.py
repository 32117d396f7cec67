"""Removing a job's service without leaving its tasks behind.

swarmkit's replicated-jobs orchestrator does not clean up after a removed service: the tasks it
had not yet placed (pending, desired complete) stay in the manager's raft store forever, up to a
job's every completion. They are never scheduled, but every task listing carries them: a few
thousand made every `/tasks` call megabytes long and every job listing seconds slow. Setting the
job's completions to zero first makes the orchestrator drop them itself.
"""

import contextlib

import docker

from .errors import SwarmError


def remove_job_service(api: docker.APIClient, service: dict) -> None:
    """Remove the service; a replicated-job's unplaced tasks are dropped first.

    The completions update is best effort: if the service changed since `service` was read (its
    version moved on) the removal goes ahead anyway. Docker's errors of the removal are raised
    as they come, for the caller's translate_errors()."""
    mode = service["Spec"].get("Mode", {})
    if "ReplicatedJob" in mode:
        no_more = {**mode["ReplicatedJob"], "TotalCompletions": 0}
        spec = {**service["Spec"], "Mode": {"ReplicatedJob": no_more}}
        with contextlib.suppress(docker.errors.APIError, SwarmError):
            api._result(
                api._post_json(
                    api._url("/services/{0}/update", service["ID"]),
                    params={"version": service["Version"]["Index"]},
                    data=spec,
                )
            )
    api.remove_service(service["ID"])
