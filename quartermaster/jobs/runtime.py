"""What the HTTP layer asks of a job runtime: the one interface between `web` and the swarm.

`quartermaster.swarm.Swarm` implements it against Docker; the tests' in-memory runtime implements
it too, and one set of contract tests runs against both. An error is one of `jobs.errors`.
"""

from collections.abc import Callable, Iterator
from typing import Protocol

from quartermaster.jobs.fair_share import SwarmRoom
from quartermaster.jobs.history import LogKeeper
from quartermaster.jobs.idempotency import KeyHashes
from quartermaster.jobs.logs import LogOptions
from quartermaster.jobs.nodes import NodesReading, SwarmHealth
from quartermaster.jobs.query import JobPage, JobQuery
from quartermaster.jobs.spec import JobSpec
from quartermaster.jobs.status import JobStatus


class JobRuntime(Protocol):
    def health(self) -> SwarmHealth:
        """The runtime answers and can run jobs: its nodes counted."""
        ...

    def readiness_problem(self) -> str | None:
        """Why no job could be placed now, or None when one could."""
        ...

    def create_job(self, job: JobSpec, key: KeyHashes | None = ..., held: bool = ...) -> str:
        """Start the job as `job` says (the service applied its defaults: the runtime applies
        none); its full id. With `key`, the hashes of an Idempotency-Key used before for the same
        request: the id of the job that key made (another request: IdempotencyConflict).
        `held`: made queued, with no run until release_job."""
        ...

    def release_job(self, job_id: str) -> None:
        """Give a held job (by its full id) its runs: it was admitted. A job not held is left
        as it is; none: JobNotFound."""
        ...

    def job_status(
        self,
        reference: str,
        wait: float = ...,
        abandoned: Callable[[], bool] = ...,
        tenant: str | None = ...,
    ) -> JobStatus:
        """The job `reference` means among `tenant`'s (None: every job): the job with that full
        id, else the one job named so or whose id starts with it (none: JobNotFound; more:
        AmbiguousReference). A tenant's job is named by its name as given; to the operator, by
        its service's (jobs/tenancy.py's service_name). With `wait`, once the job is final,
        `wait` seconds have passed, or `abandoned()` says its client left."""
        ...

    def new_job_status(self, job_id: str) -> JobStatus:
        """The status of a job just made by create_job (its full id), for its first record: its
        description as job_status has it, its runs not yet counted (a runtime may start its
        first after answering create_job: the reaper records them). None: JobNotFound."""
        ...

    def list_jobs(self, query: JobQuery) -> JobPage:
        """A page of jobs, newest first."""
        ...

    def job_statuses(self, job_ids: list[str]) -> dict[str, JobStatus]:
        """The status of each of these jobs (full ids) the runtime holds, by id; the others
        are left out."""
        ...

    def nodes(self) -> NodesReading:
        """Every node, with what jobs reserve on it, and when the runtime read that."""
        ...

    def room(self) -> SwarmRoom:
        """What admission reads: every node with what it has free, and the jobs placed on one."""
        ...

    def job_logs(
        self,
        reference: str,
        options: LogOptions,
        abandoned: Callable[[], bool] = ...,
        tenant: str | None = ...,
    ) -> Iterator[bytes]:
        """The job's output, in chunks; the first is empty (the answer's headers go with it). A
        followed log ends once the job is final, or when `abandoned()` says its reader left."""
        ...

    def capture_log(self, job_id: str, max_bytes: int) -> LogKeeper:
        """The whole log of the job with that full id as it stands, both streams, timestamped,
        its newest `max_bytes` kept; or, once a log was set aside for it (set_log_aside), that
        log, whether the job's runs are there still or not."""
        ...

    def set_log_aside(self, job_id: str, log: LogKeeper) -> None:
        """Keep `log` as the job's (full id) beyond its runs, so that stopping them, which loses
        their output, loses nothing of it; the first log set aside for a job stays."""
        ...

    def halt_job(self, job_id: str, stopped_by: str | None = ...) -> str:
        """Stop the runs of the job with that full id but keep it, `shutdown` from now on,
        noting who stopped it (the audit trail's actor); its id."""
        ...

    def stop_job(self, reference: str, tenant: str | None = ...) -> str:
        """Stop and remove the job `reference` means (as for job_status); its full id."""
        ...
