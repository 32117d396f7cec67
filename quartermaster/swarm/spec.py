"""A job, and the Engine API service spec that runs it. Pure: no Docker calls."""

import base64
import json

from quartermaster.jobs import labels as job_labels
from quartermaster.jobs.callback_addresses import printable_url
from quartermaster.jobs.idempotency import KeyHashes
from quartermaster.jobs.spec import JobSpec
from quartermaster.jobs.tenancy import service_name
from quartermaster.jobs.times import NANO

MIB = 1024 * 1024
RETRY_DELAY_NS = NANO


def service_spec(
    job: JobSpec,
    key: KeyHashes | None = None,
    deployment: str = "",
    held: bool = False,
    payload: dict | None = None,
) -> dict:
    """The body of POST /services/create for `job`, as given: its defaults were applied by the
    service (jobs/spec.py's JobDefaults), so a field left None is left out (no memory or CPU
    limit, no ttl label: the reaper's default; no name: Docker picks one). `key`: the hashes of
    its Idempotency-Key and request, for its labels. `held`: made queued, with no run until its
    admission releases it (released_spec). `payload`: the config its runs mount
    (payloads.py).

    Memory (and CPUs, when given) is both the limit and the reservation: swarm's scheduler keeps a
    task pending until a worker has that much unreserved, which is how jobs queue.
    """
    container: dict[str, object] = {"Image": job.image, "StopSignal": "SIGINT"}
    if job.command is not None:
        # Like `docker service create IMAGE COMMAND...`: the command replaces CMD, not ENTRYPOINT.
        container["Args"] = list(job.command)
    if job.env:
        container["Env"] = [f"{key}={literal(value)}" for key, value in job.env.items()]
    if payload is not None:
        container["Configs"] = [payload]
    own_labels = _own_labels(job, key, deployment)
    if held:
        own_labels[job_labels.QUEUED] = "true"
    spec: dict[str, object] = {
        "Labels": {**job.labels, **own_labels},
        "TaskTemplate": {
            "ContainerSpec": container,
            "Resources": {"Limits": _resources(job), "Reservations": _resources(job)},
            "RestartPolicy": _restart_policy(job.retries),
            "Placement": {"Constraints": list(job.constraints)},
        },
        "Mode": _held(_mode(job)) if held else _mode(job),
    }
    if job.name is not None:
        spec["Name"] = service_name(job.tenant, job.name)
    return spec


def literal(value: str) -> str:
    """An env value as swarm must be sent it to set it as given: swarm expands each value as a
    Go template (`{{.Service.Name}}`), so each `{{` is sent as a template printing `{{`."""
    return value.replace("{{", '{{"{{"}}')


def _own_labels(job: JobSpec, key: KeyHashes | None, deployment: str) -> dict[str, str]:
    own = {
        job_labels.JOB: job_labels.job_mark(deployment),
        job_labels.IMAGE: job.image,
        job_labels.COMPLETIONS: str(job.completions),
    }
    if job.ttl is not None:
        own[job_labels.TTL] = str(job.ttl)
    if job.timeout is not None:
        own[job_labels.TIMEOUT] = str(job.timeout)
    if job.callback_url:
        own[job_labels.CALLBACK_URL] = job.callback_url
    if job.run_by is not None:
        own[job_labels.RUN_BY] = job.run_by
    if job.tenant is not None:
        own[job_labels.TENANT] = job.tenant
        if job.name is not None:
            own[job_labels.NAME] = job.name
    if job.template is not None:
        own[job_labels.TEMPLATE] = job.template
    if job.scheduled_for is not None:
        own[job_labels.SCHEDULED_FOR] = job.scheduled_for
    if key is not None:
        own[job_labels.IDEMPOTENCY_KEY] = key.key
        own[job_labels.REQUEST_HASH] = key.request
    return own


def _resources(job: JobSpec) -> dict:
    resources = {}
    if job.memory_mb is not None:
        resources["MemoryBytes"] = job.memory_mb * MIB
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


def _held(mode: dict) -> dict:
    if "ReplicatedJob" in mode:
        return {"ReplicatedJob": {**mode["ReplicatedJob"], "TotalCompletions": 0}}
    return {"Replicated": {"Replicas": 0}}


def released_spec(spec: dict, admitted_at: str) -> dict:
    """A held job's spec with its runs given back (a `job`'s completions from its label), its
    queued mark replaced by the time it was admitted. A spec not held is returned as it is."""
    labels = dict(spec.get("Labels") or {})
    if labels.pop(job_labels.QUEUED, None) is None:
        return spec
    mode = spec.get("Mode", {})
    if "ReplicatedJob" in mode:
        completions = int(labels.get(job_labels.COMPLETIONS, 1))
        mode = {"ReplicatedJob": {**mode["ReplicatedJob"], "TotalCompletions": completions}}
    else:
        mode = {"Replicated": {"Replicas": 1}}
    return {**spec, "Mode": mode, "Labels": {**labels, job_labels.ADMITTED: admitted_at}}


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
        "name": service_labels.get(job_labels.NAME) or spec.get("Name"),
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
