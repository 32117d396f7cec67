"""Which job a reference means on the swarm: a full service id, a service name, or an id prefix.

Exactly one job or an error, never a guess: a job named like a prefix of another's id must not
take that one over. The messages do not echo the reference: a client may have sent something
secret by mistake.
"""

from dataclasses import dataclass

from quartermaster.jobs import labels
from quartermaster.jobs.errors import AmbiguousReference, DockerRejected, JobNotFound
from quartermaster.jobs.references import is_full_id
from quartermaster.swarm.docker_connection import DockerConnection
from quartermaster.swarm.engine import EngineClient

NO_SUCH_JOB = "no such job"
AMBIGUOUS_REFERENCE = "more than one job matches this reference; use the job's full id"


@dataclass(frozen=True)
class FoundJob:
    job: dict  # the job's service
    docker_agrees: bool  # Docker resolves the reference to this job too


def resolve_reference(docker: DockerConnection, reference: str, deployment: str) -> FoundJob:
    """The one job of `deployment` that `reference` means: the job with that full id; else the
    job with that name or whose id starts with it. No such job is JobNotFound; two are
    AmbiguousReference.

    A full id costs one call. Any other reference costs two, made at once: Docker's own
    resolution (the service of that name, else the one whose id starts with it) and every job
    whose id starts with it."""
    if is_full_id(reference):
        service = _inspect(docker.engine, reference)
        if service is None or service["ID"] != reference or not labels.is_job(service, deployment):
            raise JobNotFound(NO_SUCH_JOB)
        return FoundJob(service, docker_agrees=True)
    job_filter = labels.job_filter(deployment)
    by_id_prefix = docker.in_background(
        lambda engine: engine.services(filters={"id": reference, "label": job_filter})
    )
    resolved = _inspect(docker.engine, reference)
    candidates = {service["ID"]: service for service in by_id_prefix.result()}
    if resolved is not None and labels.is_job(resolved, deployment):
        candidates[resolved["ID"]] = resolved
    if not candidates:
        raise JobNotFound(NO_SUCH_JOB)
    if len(candidates) > 1:
        raise AmbiguousReference(AMBIGUOUS_REFERENCE)
    (job,) = candidates.values()
    return FoundJob(job, docker_agrees=resolved is not None and resolved["ID"] == job["ID"])


def _inspect(engine: EngineClient, reference: str) -> dict | None:
    """The service Docker resolves `reference` to (full id, else name, else id prefix), or None
    when that is no single service."""
    try:
        return engine.inspect_service(reference)
    except (JobNotFound, DockerRejected):  # DockerRejected: an id prefix of several services
        return None
