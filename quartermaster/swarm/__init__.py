"""All of quartermaster's Docker knowledge. Nothing here knows about Flask or HTTP.

`Swarm` is the one entry point the blueprints use; each method makes a fixed, small number of
Engine API calls, whatever the number of services on the swarm.
"""

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from .. import metrics
from . import labels
from .client import DockerConnection, translate_errors
from .errors import (
    DockerRejected,
    DockerUnavailable,
    IdempotencyConflict,
    JobNotFound,
    NameConflict,
    NotASwarmManager,
    SwarmError,
)
from .job_watch import JobWatches
from .listing import JobPage, JobQuery, page_of_jobs
from .logs import FollowEnds, LogOptions, open_log_stream
from .nodes import (
    NOT_A_MANAGER,
    NodeSummary,
    down_nodes_among,
    readiness_problem,
    summarize_nodes,
)
from .reaping import Reaping
from .spec import JobSpec, registry_auth_header, service_spec
from .status import STATUSES, JobStatus, job_status

__all__ = [
    "STATUSES",
    "DockerRejected",
    "DockerUnavailable",
    "IdempotencyConflict",
    "JobNotFound",
    "JobPage",
    "JobQuery",
    "JobSpec",
    "JobStatus",
    "LogOptions",
    "NameConflict",
    "NodeSummary",
    "NotASwarmManager",
    "Swarm",
    "SwarmError",
    "SwarmHealth",
]


# Not-found messages do not echo the reference: a client may have sent something secret by mistake.
NO_SUCH_JOB = "no such job"
# How often a waiting request checks whether its client is still there.
CHECK_SECONDS = 1.0


def _never() -> bool:
    return False


@dataclass(frozen=True)
class SwarmHealth:
    managers: int
    workers: int
    ready_workers: int


class Swarm:
    def __init__(self, config):
        self._config = config
        self._docker = DockerConnection(config.docker_host, config.docker_timeout)
        self._watches = JobWatches(self._job_status_once)

    @property
    def config(self):
        return self._config

    @property
    def reaping(self) -> Reaping:
        return Reaping(self._docker)

    def health(self) -> SwarmHealth:
        """Docker is reachable and this node manages a swarm: count its nodes."""
        with translate_errors():
            info = self._docker.reads.info()
            if not info.get("Swarm", {}).get("ControlAvailable"):
                raise NotASwarmManager(NOT_A_MANAGER)
            nodes = self._docker.reads.nodes()
        managers = [node for node in nodes if node["Spec"]["Role"] == "manager"]
        workers = [node for node in nodes if node["Spec"]["Role"] == "worker"]
        ready = [node for node in workers if node["Status"]["State"] == "ready"]
        return SwarmHealth(managers=len(managers), workers=len(workers), ready_workers=len(ready))

    def create_job(self, job: JobSpec) -> str:
        """Create the job's service; return its full id (with an Idempotency-Key used before:
        the id of the job that key made)."""
        spec = service_spec(
            job,
            memory_mb=job.memory_mb or self._config.memory_mb,
            constraints=self._config.constraints,
            ttl=self._config.ttl,
        )
        headers = {}
        if job.registry_auth:
            headers["X-Registry-Auth"] = registry_auth_header(job.registry_auth, job.image)
        try:
            job_id, outcome = self._create_service(spec, headers), "created"
        except NameConflict:
            if not job.idempotency_key:
                metrics.jobs_created.labels("refused").inc()
                raise
            job_id, outcome = self._same_request_job(spec), "existing"
        except DockerRejected:
            metrics.jobs_created.labels("refused").inc()
            raise
        metrics.jobs_created.labels(outcome).inc()
        return job_id

    def _create_service(self, spec: dict, headers: dict) -> str:
        api = self._docker.api
        with translate_errors():
            # docker-py's create_service takes no per-call credentials, so the request is sent
            # through the low-level client with the header set here.
            response = api._post_json(api._url("/services/create"), data=spec, headers=headers)
            return api._result(response, json=True)["ID"]

    def _same_request_job(self, spec: dict) -> str:
        """The job an earlier request with the same Idempotency-Key made, if it asked the same."""
        try:
            with translate_errors():
                existing = self._docker.reads.inspect_service(spec["Name"])
            existing_labels = existing["Spec"].get("Labels", {})
            if (
                existing_labels.get(labels.IDEMPOTENCY_KEY)
                != spec["Labels"][labels.IDEMPOTENCY_KEY]
            ):
                raise NameConflict(f"a service named {spec['Name']} already exists")
            if existing_labels.get(labels.REQUEST_HASH) != spec["Labels"][labels.REQUEST_HASH]:
                raise IdempotencyConflict("this Idempotency-Key was used with a different request")
        except JobNotFound:
            metrics.jobs_created.labels("refused").inc()
            raise NameConflict("the name was in use; retry") from None  # removed meanwhile
        except SwarmError:
            metrics.jobs_created.labels("refused").inc()
            raise
        return existing["ID"]

    def job_status(
        self, reference: str, wait: float = 0, abandoned: Callable[[], bool] = _never
    ) -> JobStatus:
        """The job's status from its service and its tasks: two calls, made at once (a third
        when a run may be stranded on a node that went down).

        With `wait`, hold the answer until the job is in a final state, `wait` seconds have
        passed, the client is gone (`abandoned`, asked every second), or this process is
        stopping; meanwhile the job's status comes from its shared poll (`job_watch.py`), one per
        job in this process however many wait on it.
        """
        status = self._job_status_once(reference)
        if status.is_final or wait <= 0:
            return status
        deadline = time.monotonic() + wait
        with self._watches.watching(status.id, status) as watch:
            while not watch.ended.wait(min(CHECK_SECONDS, max(deadline - time.monotonic(), 0))):
                if time.monotonic() >= deadline or abandoned():
                    break
            return watch.latest()

    def list_jobs(self, query: JobQuery) -> JobPage:
        """A page of jobs, newest first: two calls, whatever the page size or the swarm's size
        (three when a run may be stranded on a node that went down)."""
        label_filters = [f"{labels.JOB}=true", *(f"{k}={v}" for k, v in query.labels.items())]
        service_filters = {"label": label_filters}
        if query.name:
            service_filters["name"] = query.name
        with translate_errors():
            services = self._docker.reads.services(filters=service_filters)
            # Tasks carry their service's labels: one call for the tasks of every job.
            tasks = self._docker.reads.tasks(filters={"label": f"{labels.JOB}=true"})
        return page_of_jobs(services, tasks, query, down_nodes_among(self._docker.reads, tasks))

    def nodes(self) -> list[NodeSummary]:
        """Every node with its capacity and what jobs reserve on it: two calls."""
        with translate_errors():
            nodes = self._docker.reads.nodes()
            tasks = self._docker.reads.tasks(filters={"label": f"{labels.JOB}=true"})
        return summarize_nodes(nodes, tasks)

    def readiness_problem(self) -> str | None:
        """Why no job could be placed now, or None when the swarm is ready to take jobs."""
        with translate_errors():
            info = self._docker.reads.info()
            nodes = (
                self._docker.reads.nodes() if info.get("Swarm", {}).get("ControlAvailable") else []
            )
        return readiness_problem(info, nodes, self._config.constraints)

    def job_logs(
        self, reference: str, options: LogOptions, abandoned: Callable[[], bool] = _never
    ) -> Iterator[bytes]:
        """The job's output. A followed one ends when the job is final, the reader is gone
        (`abandoned`), FOLLOW_MAX_SECONDS have passed, or this process is stopping."""
        service = self._find_job(reference)
        ends = FollowEnds(
            watching=lambda: self._watches.watching(service["ID"]),
            abandoned=abandoned,
            max_seconds=self._config.follow_max_seconds,
        )
        with translate_errors():
            return open_log_stream(self._docker.api, service["ID"], options, ends)

    def _job_status_once(self, reference: str) -> JobStatus:
        # Swarm resolves a reference (id, unique id prefix or name) alike for both calls, so the
        # tasks are asked for while the service is: one round trip to Docker instead of two.
        tasks_call = self._docker.in_background(
            lambda reads: reads.tasks(filters={"service": reference})
        )
        service = self._find_job(reference)
        with translate_errors():
            # (A name may have moved to a new service between the two calls: keep this one's.)
            tasks = [task for task in tasks_call.result() if task["ServiceID"] == service["ID"]]
        return job_status(service, tasks, down_nodes_among(self._docker.reads, tasks))

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
                service = self._docker.reads.inspect_service(reference)
        except (JobNotFound, DockerRejected):
            # DockerRejected: an ambiguous id prefix. Either way, no single job.
            raise JobNotFound(NO_SUCH_JOB) from None
        if not labels.is_job(service):
            raise JobNotFound(NO_SUCH_JOB)
        return service
