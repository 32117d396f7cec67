"""A job request, and the Engine API service spec that runs it. Pure: no Docker calls."""

import base64
import json
from dataclasses import dataclass, field

from . import labels as job_labels

MIB = 1024 * 1024


@dataclass(frozen=True)
class JobSpec:
    """A validated /run request."""

    image: str
    command: tuple[str, ...] | None = None  # None: the image's default command
    name: str | None = None  # None: swarm generates a name
    labels: dict[str, str] = field(default_factory=dict)
    memory_mb: int | None = None  # None: the configured default
    # The decoded Docker auth object. Never stored, logged or shown: it is only forwarded.
    registry_auth: dict[str, str] | None = field(default=None, repr=False)


def service_spec(job: JobSpec, *, memory_mb: int, constraints: tuple[str, ...]) -> dict:
    """The body of POST /services/create for `job`.

    One replica that is never restarted (a finished job is not re-run). Memory is both the limit
    and the reservation: swarm's scheduler keeps the task pending until a worker has that much
    unreserved memory, which is how jobs queue.
    """
    memory_bytes = memory_mb * MIB
    container = {"Image": job.image, "StopSignal": "SIGINT"}
    if job.command is not None:
        # Like `docker service create IMAGE COMMAND...`: the command replaces CMD, not ENTRYPOINT.
        container["Args"] = list(job.command)
    spec = {
        "Labels": {**job.labels, job_labels.JOB: "true", job_labels.IMAGE: job.image},
        "TaskTemplate": {
            "ContainerSpec": container,
            "Resources": {
                "Limits": {"MemoryBytes": memory_bytes},
                "Reservations": {"MemoryBytes": memory_bytes},
            },
            "RestartPolicy": {"Condition": "none"},
            "Placement": {"Constraints": list(constraints)},
        },
        "Mode": {"Replicated": {"Replicas": 1}},
    }
    if job.name:
        spec["Name"] = job.name
    return spec


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
