"""Stopping a job's runs while keeping its service (and so its tasks and its log) on the swarm.

A service is scaled to no replicas, a replicated-job to no completions (swarm removes its running
tasks and starts none), and a label says when and why, in the same update: the reaper's timeout,
and /stop while the record store is out of reach.
"""

import time

from quartermaster.jobs.errors import SwarmError
from quartermaster.swarm.engine import EngineClient
from quartermaster.swarm.removal import ATTEMPTS


def halted_spec(spec: dict, label: str, now: float) -> dict:
    """The spec with no runs left to make, and `label` set to the UTC time of `now`."""
    mode = spec.get("Mode", {})
    if "ReplicatedJob" in mode:
        mode = {"ReplicatedJob": {**mode["ReplicatedJob"], "TotalCompletions": 0}}
    else:
        mode = {"Replicated": {"Replicas": 0}}
    return {**spec, "Mode": mode, "Labels": {**spec.get("Labels", {}), label: utc(now)}}


def halt_job_service(engine: EngineClient, service_id: str, label: str, now: float) -> None:
    """Halt the job, on a fresh read each attempt (swarm moves a job's version on as it runs)."""
    for attempt in range(ATTEMPTS):
        service = engine.inspect_service(service_id)
        try:
            engine.update_service(
                service_id, service["Version"]["Index"], halted_spec(service["Spec"], label, now)
            )
            return
        except SwarmError:
            if attempt == ATTEMPTS - 1:
                raise


def utc(now: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now))
