"""A job request, and the Engine API service spec that runs it. Pure: no Docker calls."""

import base64
import json
import secrets

from quartermaster.jobs import labels as job_labels
from quartermaster.jobs.callback_addresses import printable_url
from quartermaster.jobs.idempotency import key_hash, request_hash
from quartermaster.jobs.spec import JobSpec
from quartermaster.jobs.times import NANO

MIB = 1024 * 1024
RETRY_DELAY_NS = NANO


def service_spec(job: JobSpec, *, memory_mb: int, constraints: tuple[str, ...], ttl: int) -> dict:
    """The body of POST /services/create for `job`.

    Memory (and CPUs, when given) is both the limit and the reservation: swarm's scheduler keeps a
    task pending until a worker has that much unreserved, which is how jobs queue.
    """
    container: dict[str, object] = {"Image": job.image, "StopSignal": "SIGINT"}
    if job.command is not None:
        # Like `docker service create IMAGE COMMAND...`: the command replaces CMD, not ENTRYPOINT.
        container["Args"] = list(job.command)
    if job.env:
        container["Env"] = [f"{key}={value}" for key, value in job.env.items()]
    spec = {
        "Labels": {**job.labels, **_own_labels(job, ttl)},
        "TaskTemplate": {
            "ContainerSpec": container,
            "Resources": {
                "Limits": _resources(job, memory_mb),
                "Reservations": _resources(job, memory_mb),
            },
            "RestartPolicy": _restart_policy(job.retries),
            "Placement": {"Constraints": [*constraints, *job.constraints]},
        },
        "Mode": _mode(job),
    }
    spec["Name"] = job.name or unique_name()
    return spec


def unique_name() -> str:
    """A name for a job its client did not name.

    Swarm's own names (adjective_scientist) come from about 25,000 pairs: with a few hundred
    jobs on the swarm, a create now and then failed with a name conflict the client never asked
    for. 64 random bits do not collide.
    """
    return "job-" + secrets.token_hex(8)


def _own_labels(job: JobSpec, ttl: int) -> dict[str, str]:
    own = {
        job_labels.JOB: "true",
        job_labels.IMAGE: job.image,
        job_labels.TTL: str(job.ttl if job.ttl is not None else ttl),
        job_labels.COMPLETIONS: str(job.completions),
    }
    if job.timeout is not None:
        own[job_labels.TIMEOUT] = str(job.timeout)
    if job.callback_url:
        own[job_labels.CALLBACK_URL] = job.callback_url
    if job.idempotency_key:
        own[job_labels.IDEMPOTENCY_KEY] = key_hash(job.idempotency_key)
        own[job_labels.REQUEST_HASH] = request_hash(job)
    return own


def _resources(job: JobSpec, memory_mb: int) -> dict:
    resources = {"MemoryBytes": memory_mb * MIB}
    if job.cpus is not None:
        resources["NanoCPUs"] = round(job.cpus * NANO)
    return resources


def _restart_policy(retries: int) -> dict:
    """A finished run is never re-run; a failed one is, `retries` times, a second apart."""
    if retries == 0:
        return {"Condition": "none"}
    return {"Condition": "on-failure", "MaxAttempts": retries, "Delay": RETRY_DELAY_NS}


def _mode(job: JobSpec) -> dict:
    if job.type == "job":
        return {
            "ReplicatedJob": {"MaxConcurrent": job.parallelism, "TotalCompletions": job.completions}
        }
    return {"Replicated": {"Replicas": 1}}


def registry_auth_header(auth: dict[str, str], image: str) -> str:
    """The X-Registry-Auth header value: URL-safe base64 of the auth JSON, as the Engine expects."""
    auth = dict(auth)
    auth.setdefault("serveraddress", registry_of(image))
    return base64.urlsafe_b64encode(json.dumps(auth).encode()).decode()


def registry_of(image: str) -> str:
    """The registry host of an image reference (`docker.io` when it names none)."""
    first, sep, _rest = image.partition("/")
    if sep and ("." in first or ":" in first or first == "localhost"):
        return first
    return "docker.io"


def request_of(service: dict) -> dict:
    """What a job's service says of the request that made it, in the form a record keeps
    (jobs/history.py's recorded_request): for a job the store never saw made (made while the
    store was down, or by an older quartermaster). `env` values are left out, and the
    constraints are the service's, the configured ones among them."""
    spec = service["Spec"]
    service_labels = spec.get("Labels", {})
    template = spec.get("TaskTemplate", {})
    container = template.get("ContainerSpec", {})
    limits = template.get("Resources", {}).get("Limits", {})
    policy = template.get("RestartPolicy", {})
    replicated_job = spec.get("Mode", {}).get("ReplicatedJob")
    timeout = service_labels.get(job_labels.TIMEOUT)
    return {
        "image": service_labels.get(job_labels.IMAGE, container.get("Image", "")),
        "command": container.get("Args"),
        "name": spec.get("Name"),
        "labels": {
            key: value
            for key, value in service_labels.items()
            if not key.startswith(job_labels.RESERVED_PREFIX)
        },
        "env": dict.fromkeys(entry.partition("=")[0] for entry in container.get("Env", [])),
        "memory_mb": limits.get("MemoryBytes", 0) // MIB or None,
        "cpus": limits["NanoCPUs"] / NANO if limits.get("NanoCPUs") else None,
        "constraints": template.get("Placement", {}).get("Constraints", []),
        "type": "job" if replicated_job is not None else "service",
        "completions": int(service_labels.get(job_labels.COMPLETIONS, 1)),
        "parallelism": replicated_job["MaxConcurrent"] if replicated_job else 1,
        "retries": policy.get("MaxAttempts", 0) if policy.get("Condition") == "on-failure" else 0,
        "timeout": int(timeout) if timeout is not None else None,
        "ttl": int(service_labels[job_labels.TTL]) if job_labels.TTL in service_labels else None,
        "callback_url": printable_url(url)
        if (url := service_labels.get(job_labels.CALLBACK_URL))
        else None,
    }
