"""Which job a reference means on the swarm: a full service id, a service name, or an id prefix.

Exactly one job or an error, never a guess: a job named like a prefix of another's id must not
take that one over. The messages do not echo the reference: a client may have sent something
secret by mistake.
"""

from dataclasses import dataclass

from quartermaster.jobs import labels
from quartermaster.jobs.errors import AmbiguousReference, DockerRejected, JobNotFound
from quartermaster.jobs.references import is_full_id
from quartermaster.jobs.tenancy import service_name
from quartermaster.swarm.docker_connection import DockerConnection
from quartermaster.swarm.engine import EngineClient

NO_SUCH_JOB = "no such job"
AMBIGUOUS_REFERENCE = "more than one job matches this reference; use the job's full id"


@dataclass(frozen=True)
class FoundJob:
    job: dict  # the job's service
    docker_agrees: bool  # Docker resolves the reference to this job too


def resolve_reference(
    docker: DockerConnection, reference: str, deployment: str, tenant: str | None = None
) -> FoundJob:
    """The one job of `deployment` that `reference` means, among `tenant`'s jobs (None: the
    operator's view, every job): the job with that full id; else the job with that name or
    whose id starts with it. No such job is JobNotFound; two are AmbiguousReference. To a
    tenant, another's job is one that does not exist, and a reference another's job would
    make ambiguous means its own alone.

    A full id costs one call. Any other reference costs two, made at once: Docker's own
    resolution (the service of that name, a tenant's job's name being `<tenant>_<name>`, else
    the one whose id starts with it) and every job whose id starts with it."""
    if is_full_id(reference):
        service = _inspect(docker.engine, reference)
        if service is None or service["ID"] != reference or not _owned(service, deployment, tenant):
            raise JobNotFound(NO_SUCH_JOB)
        return FoundJob(service, docker_agrees=True)
    label_filters = [labels.job_filter(deployment)]
    if tenant is not None:
        label_filters.append(labels.tenant_filter(tenant))
    by_id_prefix = docker.in_background(
        lambda engine: engine.services(filters={"id": reference, "label": label_filters})
    )
    resolved = _inspect(docker.engine, service_name(tenant, reference))
    candidates = {service["ID"]: service for service in by_id_prefix.result()}
    if resolved is not None and _owned(resolved, deployment, tenant):
        candidates[resolved["ID"]] = resolved
    if not candidates:
        raise JobNotFound(NO_SUCH_JOB)
    if len(candidates) > 1:
        raise AmbiguousReference(AMBIGUOUS_REFERENCE)
    (job,) = candidates.values()
    return FoundJob(job, docker_agrees=resolved is not None and resolved["ID"] == job["ID"])


def _owned(service: dict, deployment: str, tenant: str | None) -> bool:
    """A job of `deployment`, and `tenant`'s when one is named."""
    if not labels.is_job(service, deployment):
        return False
    return tenant is None or service["Spec"].get("Labels", {}).get(labels.TENANT) == tenant


def _inspect(engine: EngineClient, reference: str) -> dict | None:
    """The service Docker resolves `reference` to (full id, else name, else id prefix), or None
    when that is no single service."""
    try:
        return engine.inspect_service(reference)
    except (JobNotFound, DockerRejected):  # DockerRejected: an id prefix of several services
        return None
