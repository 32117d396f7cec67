"""A dispatch's payload (jobs/templates.py): a swarm config made for its job, holding the bytes,
mounted read-only at PAYLOAD_PATH in each of its runs; never in the service's env or labels.
Removed with its service (removal.py); one left behind (its /run died between the config and the
service) is removed by the reaper once ORPHAN_SECONDS old."""

import contextlib
import secrets

from quartermaster.jobs import labels as job_labels
from quartermaster.jobs.errors import SWARM_CALL_ERRORS
from quartermaster.jobs.spec import PAYLOAD_PATH
from quartermaster.jobs.times import NANO, nanos_of
from quartermaster.swarm.engine import EngineClient

# Under the reaper's CONFIG_PREFIX ("quartermaster-"), like the other configs kept beside jobs.
PAYLOAD_PREFIX = "quartermaster-payload-"
ORPHAN_SECONDS = 600


def create_payload(engine: EngineClient, payload: bytes, deployment: str) -> dict:
    """A config holding `payload`; what a service's ContainerSpec.Configs takes to mount it."""
    name = PAYLOAD_PREFIX + secrets.token_hex(12)
    labels = {job_labels.JOB: job_labels.job_mark(deployment), job_labels.PAYLOAD: "true"}
    config_id = engine.create_config(name, labels, payload)
    return {
        "File": {"Name": PAYLOAD_PATH, "UID": "0", "GID": "0", "Mode": 0o444},
        "ConfigID": config_id,
        "ConfigName": name,
    }


def payloads_of(service: dict) -> list[str]:
    """The ids of the payload configs the service mounts."""
    configs = service["Spec"].get("TaskTemplate", {}).get("ContainerSpec", {}).get("Configs")
    return [
        config["ConfigID"]
        for config in configs or ()
        if config.get("ConfigName", "").startswith(PAYLOAD_PREFIX)
    ]


def remove_payload(engine: EngineClient, config_id: str) -> None:
    """Best effort: one left behind is the reaper's."""
    with contextlib.suppress(*SWARM_CALL_ERRORS):
        engine.remove_config(config_id)


def is_payload(config: dict) -> bool:
    return job_labels.PAYLOAD in (config.get("Spec", {}).get("Labels") or {})


def orphan_payloads(configs: list[dict], services: list[dict], now: float) -> list[dict]:
    """The payload configs among `configs` that none of `services` (every job of the
    deployment) mounts, made ORPHAN_SECONDS ago or more (a younger one's service may be on its
    way)."""
    mounted = {config_id for service in services for config_id in payloads_of(service)}
    return [
        config
        for config in configs
        if is_payload(config)
        and config["ID"] not in mounted
        and now - nanos_of(config["CreatedAt"]) / NANO >= ORPHAN_SECONDS
    ]
