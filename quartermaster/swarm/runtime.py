"""`Swarm`: the job runtime (`JobRuntime`, jobs/runtime.py) on Docker Swarm, the one entry point
into the swarm of the web app (through the service) and of the reaper. Each method makes a fixed,
small number of Engine API calls, whatever the number of services on the swarm (but for the
bounded waits: a /status with `wait`, a /run waiting for a racing request with its
Idempotency-Key).
"""

import base64
import contextlib
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future

from quartermaster.jobs import labels
from quartermaster.jobs.errors import (
    SWARM_CALL_ERRORS,
    DockerRejected,
    DockerUnavailable,
    IdempotencyConflict,
    JobNotFound,
    NameConflict,
    NotASwarmManager,
)
from quartermaster.jobs.fair_share import SwarmRoom
from quartermaster.jobs.history import LogKeeper
from quartermaster.jobs.idempotency import KEY_REUSED, KeyHashes
from quartermaster.jobs.logs import LogOptions
from quartermaster.jobs.nodes import NodesReading, SwarmHealth
from quartermaster.jobs.query import JobPage, JobQuery
from quartermaster.jobs.references import is_full_id
from quartermaster.jobs.spec import JobSpec
from quartermaster.jobs.status import JobStatus
from quartermaster.jobs.tenancy import service_name
from quartermaster.process import lifecycle, metrics
from quartermaster.process.config import DEFAULT_REAPER_INTERVAL, Config
from quartermaster.swarm import kept_nodes
from quartermaster.swarm.claims import KeyClaims
from quartermaster.swarm.docker_connection import DockerConnection
from quartermaster.swarm.halting import halt_job_service, utc
from quartermaster.swarm.job_watch import JobWatches
from quartermaster.swarm.kept_logs import TRUNCATED, decode_log, encode_log, log_labels, log_name
from quartermaster.swarm.listing import page_of_jobs
from quartermaster.swarm.logs import FollowEnds, capture_log, open_log_stream
from quartermaster.swarm.nodes import (
    NOT_A_MANAGER,
    down_nodes_among,
    placed_job_tasks,
    readiness_problem,
    summarize_nodes,
    swarm_room,
)
from quartermaster.swarm.payloads import create_payload, remove_payload
from quartermaster.swarm.reaping import Reaping
from quartermaster.swarm.references import NO_SUCH_JOB, FoundJob, resolve_reference
from quartermaster.swarm.removal import remove_job_service, update_on_fresh_read
from quartermaster.swarm.spec import registry_auth_header, released_spec, service_spec
from quartermaster.swarm.status import job_status

__all__ = ["Swarm"]


KEY_IN_PROGRESS = "a request with this Idempotency-Key is still being handled; retry it"
# How often a waiting request checks whether its client is still there.
CHECK_SECONDS = 1.0


def _never() -> bool:
    return False


class Swarm:
    def __init__(self, config: Config) -> None:
        self._config = config
        self._docker = DockerConnection(config.docker_host, config.docker_timeout)
        self._watches = JobWatches(self._job_status_once)
        self._job_filter = labels.job_filter(config.deployment)
        # How old a kept reading of the nodes /nodes answers with may be: a reaper round.
        self._kept_seconds = config.reaper_interval or DEFAULT_REAPER_INTERVAL

    @property
    def connection(self) -> DockerConnection:
        """This runtime's connection to Docker (the reaper's event stream takes it too)."""
        return self._docker

    @property
    def reaping(self) -> Reaping:
        return Reaping(self._docker, self._config.deployment)

    def health(self) -> SwarmHealth:
        """Docker is reachable and this node manages a swarm: count its nodes."""
        info = self._docker.engine.info()
        if not info.get("Swarm", {}).get("ControlAvailable"):
            raise NotASwarmManager(NOT_A_MANAGER)
        nodes = self._docker.engine.nodes()
        managers = [node for node in nodes if node["Spec"]["Role"] == "manager"]
        workers = [node for node in nodes if node["Spec"]["Role"] == "worker"]
        ready = [node for node in workers if node["Status"]["State"] == "ready"]
        return SwarmHealth(managers=len(managers), workers=len(workers), ready_workers=len(ready))

    def create_job(self, job: JobSpec, key: KeyHashes | None = None, held: bool = False) -> str:
        """Create the job's service, as `job` says (`held`: queued, without runs until
        release_job); return its full id (with an Idempotency-Key used before, by its hashes
        `key`: the id of the job that key made)."""
        engine = self._docker.engine
        payload = None
        if job.payload is not None:
            payload = create_payload(engine, job.payload, self._config.deployment)
        spec = service_spec(job, key, self._config.deployment, held, payload)
        headers = {}
        if job.registry_auth:
            headers["X-Registry-Auth"] = registry_auth_header(job.registry_auth, job.image)
        outcome = "refused"
        try:
            if key is not None:
                job_id, outcome = self._create_keyed_job(spec, headers, key)
            else:
                job_id, outcome = engine.create_service(spec, headers), "created"
        except (NameConflict, IdempotencyConflict, DockerRejected):
            metrics.jobs_created.labels("refused").inc()
            raise
        finally:
            if payload is not None and outcome != "created":
                remove_payload(engine, payload["ConfigID"])  # no new job mounts it
        metrics.jobs_created.labels(outcome).inc()
        return job_id

    def _create_keyed_job(self, spec: dict, headers: dict, key: KeyHashes) -> tuple[str, str]:
        """The key's job if it has one (the same request: its id; another: 409), else a new
        one, made by whichever of racing requests claims the key (see claims.py). The others
        wait for it, up to twice the Docker timeout."""
        claims = KeyClaims(self._docker, self._config.docker_timeout, self._config.deployment)
        deadline = time.monotonic() + 2 * self._config.docker_timeout
        interval = 0.05
        while True:
            claim_id = claims.claim(key.key)
            if claim_id is not None:
                return self._create_claimed(claims, claim_id, spec, headers, key)
            existing = claims.job_with_key(key.key)
            if existing is not None:
                return _same_request_job(existing, key), "existing"
            claims.remove_if_stale(key.key)
            if time.monotonic() >= deadline or lifecycle.stopping.wait(interval):
                raise IdempotencyConflict(KEY_IN_PROGRESS)
            interval = min(interval * 2, 0.5)

    def _create_claimed(
        self, claims: KeyClaims, claim_id: str, spec: dict, headers: dict, key: KeyHashes
    ) -> tuple[str, str]:
        """Holding the key's claim: the key's job if it has one, else a new one."""
        try:
            existing = claims.job_with_key(key.key)
            if existing is not None:
                result = _same_request_job(existing, key), "existing"
            else:
                result = self._docker.engine.create_service(spec, headers), "created"
        except DockerUnavailable:
            raise  # Docker may still create the job: the claim is kept until it goes stale
        except SWARM_CALL_ERRORS:
            claims.release(claim_id)
            raise
        claims.release(claim_id)
        return result

    def job_status(
        self,
        reference: str,
        wait: float = 0,
        abandoned: Callable[[], bool] = _never,
        tenant: str | None = None,
    ) -> JobStatus:
        """The job's status from its service and its tasks: two calls, made at once, for a full
        id; three for a name or id prefix (references.py). One more when a run may be stranded
        on a node that went down.

        With `wait`, hold the answer until the job is in a final state, `wait` seconds have
        passed, the client is gone (`abandoned`, asked every second), or this process is
        stopping; meanwhile the job's status comes from its shared poll (`job_watch.py`), one per
        job in this process however many wait on it.
        """
        status = self._job_status_once(reference, tenant)
        if status.is_final or wait <= 0:
            return status
        deadline = time.monotonic() + wait
        with self._watches.watching(status.id, status) as watch:
            while not watch.ended.wait(min(CHECK_SECONDS, max(deadline - time.monotonic(), 0))):
                if time.monotonic() >= deadline or abandoned():
                    break
            return watch.latest()

    def new_job_status(self, job_id: str) -> JobStatus:
        """The status of a job just created, from its service alone: one call. Swarm makes a
        service's first task after answering its create, so the tasks (one call more) would
        often be none yet anyway; the reaper records them as they come (a /run of a job that
        stays pending spent 7% of a worker's CPU on it, and a thread)."""
        found = resolve_reference(self._docker, job_id, self._config.deployment)
        return job_status(found.job, [])

    def list_jobs(self, query: JobQuery) -> JobPage:
        """A page of jobs, newest first: two calls, whatever the page size or the swarm's size
        (three when a run may be stranded on a node that went down)."""
        label_filters = [self._job_filter, *(f"{k}={v}" for k, v in query.labels.items())]
        service_filters: dict[str, str | list[str]] = {"label": label_filters}
        if query.name:
            service_filters["name"] = query.name
        engine = self._docker.engine
        services = engine.services(filters=service_filters)
        # Tasks carry their service's labels: one call for the tasks of every job.
        tasks = engine.tasks(filters={"label": self._job_filter})
        return page_of_jobs(services, tasks, query, down_nodes_among(engine, tasks))

    def job_statuses(self, job_ids: list[str]) -> dict[str, JobStatus]:
        """The status of each of these jobs (full ids) the swarm holds: two calls, whatever
        their number or the swarm's size (three when a run may be stranded on a node that went
        down)."""
        if not job_ids:
            return {}
        engine = self._docker.engine
        wanted = set(job_ids)
        found = engine.services(filters={"id": job_ids, "label": self._job_filter})
        services = [service for service in found if service["ID"] in wanted]  # ids: prefixes
        if not services:
            return {}
        try:
            tasks = engine.tasks(filters={"service": [service["ID"] for service in services]})
        except JobNotFound:  # one was removed meanwhile: ask for every job's tasks instead
            tasks = engine.tasks(filters={"label": self._job_filter})
        tasks_of: dict[str, list[dict]] = {service["ID"]: [] for service in services}
        for task in tasks:
            tasks_of.get(task["ServiceID"], []).append(task)
        down_nodes = down_nodes_among(engine, tasks)
        return {
            service["ID"]: job_status(service, tasks_of[service["ID"]], down_nodes)
            for service in services
        }

    def nodes(self) -> NodesReading:
        """Every node with its capacity and what jobs reserve on it: as this instance last read
        it, when that was at most a reaper round ago (kept_nodes.py), else read now (two calls;
        swarm walks every task for them: nodes.placed_job_tasks)."""
        kept = kept_nodes.kept_since(time.time() - self._kept_seconds)
        if kept is not None:
            return kept
        nodes, job_tasks = placed_job_tasks(self._docker.engine, self._job_filter)
        return _kept_reading(nodes, job_tasks)

    def room(self) -> SwarmRoom:
        """The nodes with what they have free, and the jobs placed on one, read now (admission
        goes by the swarm as it is): two calls."""
        return swarm_room(*placed_job_tasks(self._docker.engine, self._job_filter))

    def readiness_problem(self) -> str | None:
        """Why no job could be placed now, or None when the swarm is ready to take jobs."""
        info = self._docker.engine.info()
        nodes = self._docker.engine.nodes() if info.get("Swarm", {}).get("ControlAvailable") else []
        return readiness_problem(info, nodes, self._config.constraints)

    def job_logs(
        self,
        reference: str,
        options: LogOptions,
        abandoned: Callable[[], bool] = _never,
        tenant: str | None = None,
    ) -> Iterator[bytes]:
        """The job's output. A followed one ends when the job is final, the reader is gone
        (`abandoned`), FOLLOW_MAX_SECONDS have passed, or this process is stopping."""
        service = self._find_job(reference, tenant)
        ends = FollowEnds(
            watching=lambda: self._watches.watching(service["ID"]),
            abandoned=abandoned,
            max_seconds=self._config.follow_max_seconds,
        )
        return open_log_stream(self._docker.engine, service["ID"], options, ends)

    def capture_log(self, job_id: str, max_bytes: int) -> LogKeeper:
        """The job's whole log as it stands (both streams, timestamped), its newest `max_bytes`;
        the log set aside for it, if one was (its runs, and their logs, are gone since): one
        call more."""
        try:
            kept = self._docker.engine.inspect_config(log_name(job_id))
        except JobNotFound:
            return capture_log(self._docker.engine, job_id, max_bytes)
        data = base64.b64decode(kept["Spec"].get("Data", ""))
        truncated = kept["Spec"].get("Labels", {}).get(TRUNCATED) != "false"
        return decode_log(data, truncated, max_bytes)

    def set_log_aside(self, job_id: str, log: LogKeeper) -> None:
        """Keep the job's log in a swarm config until its final record takes it (kept_logs.py);
        a log set aside before is kept, not replaced."""
        data, truncated = encode_log(log)
        # A conflict: set aside already, when the job still had its runs.
        with contextlib.suppress(NameConflict):
            kept_labels = log_labels(job_id, truncated, time.time(), self._config.deployment)
            self._docker.engine.create_config(log_name(job_id), kept_labels, data)

    def _job_status_once(self, reference: str, tenant: str | None = None) -> JobStatus:
        # The tasks are asked for by the reference while the reference is resolved: one round
        # trip to Docker, whose answer is kept when Docker resolved the reference to that job.
        as_docker_has_it = reference if is_full_id(reference) else service_name(tenant, reference)
        tasks_call = self._docker.in_background(
            lambda engine: engine.tasks(filters={"service": as_docker_has_it})
        )
        found = resolve_reference(self._docker, reference, self._config.deployment, tenant)
        tasks = self._tasks_of(found, tasks_call)
        return job_status(found.job, tasks, down_nodes_among(self._docker.engine, tasks))

    def _tasks_of(self, found: FoundJob, tasks_call: Future) -> list[dict]:
        """The job's tasks: those asked for by its reference if Docker resolved the reference
        to this job too, else asked for again by the job's id."""
        job_id = found.job["ID"]
        tasks = None
        if found.docker_agrees:
            # JobNotFound, DockerRejected: the reference changed meaning meanwhile: ask by id.
            with contextlib.suppress(JobNotFound, DockerRejected):
                tasks = tasks_call.result()
        if tasks is None:
            try:
                tasks = self._docker.engine.tasks(filters={"service": job_id})
            except JobNotFound:
                raise JobNotFound(NO_SUCH_JOB) from None  # removed meanwhile
        # (A name may have moved to a new service between the calls: keep this job's tasks.)
        return [task for task in tasks if task["ServiceID"] == job_id]

    def stop_job(self, reference: str, tenant: str | None = None) -> str:
        """Remove the job's service (its containers are stopped); return its full id."""
        service = self._find_job(reference, tenant)
        try:
            remove_job_service(self._docker.engine, service)
        except JobNotFound:
            raise JobNotFound(NO_SUCH_JOB) from None
        return service["ID"]

    def release_job(self, job_id: str) -> None:
        """Give a held job its runs: it is admitted (a job not held is left as it is)."""
        admitted_at = utc(time.time())
        try:
            service = self._docker.engine.inspect_service(job_id)
            if labels.QUEUED in service["Spec"].get("Labels", {}):
                update_on_fresh_read(
                    self._docker.engine, service, lambda spec: released_spec(spec, admitted_at)
                )
        except JobNotFound:
            raise JobNotFound(NO_SUCH_JOB) from None

    def halt_job(self, job_id: str, stopped_by: str | None = None) -> str:
        """Stop the job's runs but keep its service, marked stopped (swarm/halting.py)."""
        extra = {} if stopped_by is None else {labels.STOPPED_BY: stopped_by}
        try:
            halt_job_service(self._docker.engine, job_id, labels.STOPPED, time.time(), extra)
        except JobNotFound:
            raise JobNotFound(NO_SUCH_JOB) from None
        return job_id

    def _find_job(self, reference: str, tenant: str | None = None) -> dict:
        return resolve_reference(self._docker, reference, self._config.deployment, tenant).job


def _kept_reading(nodes: list[dict], job_tasks: list[dict]) -> NodesReading:
    """The nodes' summaries of what the swarm showed just now, kept for this instance."""
    reading = NodesReading(summarize_nodes(nodes, job_tasks), time.time())
    kept_nodes.keep(reading)
    return reading


def _same_request_job(existing: dict, key: KeyHashes) -> str:
    """The id of the job an earlier request with the same Idempotency-Key made, if it asked the
    same (its name included)."""
    if existing["Spec"]["Labels"].get(labels.REQUEST_HASH) != key.request:
        raise IdempotencyConflict(KEY_REUSED)
    return existing["ID"]
