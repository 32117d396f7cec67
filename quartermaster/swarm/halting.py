"""Stopping a job's runs while keeping its service (and so its tasks and its log) on the swarm.

A service is scaled to no replicas, a replicated-job to no completions (swarm removes its running
tasks and starts none), and a label says when and why, in the same update: the reaper's timeout,
and /stop while the record store is out of reach.
"""

import time
from collections.abc import Mapping
from types import MappingProxyType

from quartermaster.swarm.engine import EngineClient
from quartermaster.swarm.removal import update_on_fresh_read


def halted_spec(
    spec: dict, label: str, now: float, extra: Mapping[str, str] = MappingProxyType({})
) -> dict:
    """The spec with no runs left to make, `label` set to the UTC time of `now`, and the
    `extra` labels."""
    mode = spec.get("Mode", {})
    if "ReplicatedJob" in mode:
        mode = {"ReplicatedJob": {**mode["ReplicatedJob"], "TotalCompletions": 0}}
    else:
        mode = {"Replicated": {"Replicas": 0}}
    labels = {**spec.get("Labels", {}), label: utc(now), **extra}
    return {**spec, "Mode": mode, "Labels": labels}


def halt_job_service(
    engine: EngineClient,
    service_id: str,
    label: str,
    now: float,
    extra: Mapping[str, str] = MappingProxyType({}),
) -> None:
    """Halt the job (read afresh on a refusal: swarm moves a job's version on as it runs)."""
    service = engine.inspect_service(service_id)
    update_on_fresh_read(engine, service, lambda spec: halted_spec(spec, label, now, extra))


def utc(now: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now))
