"""All of quartermaster's Docker knowledge. Nothing here knows about Flask or HTTP.

`Swarm` is the one entry point the blueprints use; each method makes a fixed, small number of
Engine API calls, whatever the number of services on the swarm.
"""

from dataclasses import dataclass

from . import labels
from .client import DockerConnection, translate_errors
from .errors import (
    DockerRejected,
    DockerUnavailable,
    JobNotFound,
    NameConflict,
    NotASwarmManager,
    SwarmError,
)
from .spec import JobSpec, registry_auth_header, service_spec
from .status import STATUSES, JobStatus, job_status

__all__ = [
    "STATUSES",
    "DockerRejected",
    "DockerUnavailable",
    "JobNotFound",
    "JobSpec",
    "JobStatus",
    "NameConflict",
    "NotASwarmManager",
    "Swarm",
    "SwarmError",
    "SwarmHealth",
]


# Not-found messages do not echo the reference: a client may have sent something secret by mistake.
NO_SUCH_JOB = "no such job"


@dataclass(frozen=True)
class SwarmHealth:
    managers: int
    workers: int
    ready_workers: int


class Swarm:
    def __init__(self, config):
        self._config = config
        self._docker = DockerConnection(
            config.docker_host, config.docker_timeout, pool_size=config.threads
        )

    def health(self) -> SwarmHealth:
        """Docker is reachable and this node manages a swarm: count its nodes."""
        with translate_errors():
            info = self._docker.api.info()
            if not info.get("Swarm", {}).get("ControlAvailable"):
                raise NotASwarmManager("this Docker host is not a swarm manager")
            nodes = self._docker.api.nodes()
        managers = [node for node in nodes if node["Spec"]["Role"] == "manager"]
        workers = [node for node in nodes if node["Spec"]["Role"] == "worker"]
        ready = [node for node in workers if node["Status"]["State"] == "ready"]
        return SwarmHealth(managers=len(managers), workers=len(workers), ready_workers=len(ready))

    def create_job(self, job: JobSpec) -> str:
        """Create the job's service; return its full id."""
        spec = service_spec(
            job,
            memory_mb=job.memory_mb or self._config.memory_mb,
            constraints=self._config.constraints,
        )
        headers = {}
        if job.registry_auth:
            headers["X-Registry-Auth"] = registry_auth_header(job.registry_auth, job.image)
        api = self._docker.api
        with translate_errors():
            # docker-py's create_service takes no per-call credentials, so the request is sent
            # through the low-level client with the header set here.
            response = api._post_json(api._url("/services/create"), data=spec, headers=headers)
            return api._result(response, json=True)["ID"]

    def job_status(self, reference: str) -> JobStatus:
        """The job's status from its service and its tasks: two calls."""
        service = self._find_job(reference)
        with translate_errors():
            tasks = self._docker.api.tasks(filters={"service": service["ID"]})
        return job_status(service, tasks)

    def stop_job(self, reference: str) -> str:
        """Remove the job's service (its containers are stopped); return its full id."""
        service = self._find_job(reference)
        try:
            with translate_errors():
                self._docker.api.remove_service(service["ID"])
        except JobNotFound:
            raise JobNotFound(NO_SUCH_JOB) from None
        return service["ID"]

    def _find_job(self, reference: str) -> dict:
        """The service a full id, unique id prefix or name refers to, if quartermaster made it."""
        try:
            with translate_errors():
                service = self._docker.api.inspect_service(reference)
        except (JobNotFound, DockerRejected):
            # DockerRejected: an ambiguous id prefix. Either way, no single job.
            raise JobNotFound(NO_SUCH_JOB) from None
        if not labels.is_job(service):
            raise JobNotFound(NO_SUCH_JOB)
        return service
