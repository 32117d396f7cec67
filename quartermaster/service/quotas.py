"""Admission at /run and after it: a tenant's quota (jobs/tenancy.py's TenantQuota) and fair
share of a full swarm (jobs/fair_share.py).

Before a job's service is made: a job that could never fit its tenant's quota is refused (403),
a /run past `runs_per_minute` too (429, counted in the store across every worker and instance),
and, with tenants defined, a job no node of the swarm could ever take (400 naming the field).
With tenants defined, each job is made held (queued on the swarm: no run) and admitted in the
store (store/admission.py): released at once if it fits its quota and the swarm's room, else
when room frees, in fair share's order. Room frees when a live job ends (the reaper sees it), is
stopped, or a quota is raised: each of those admits what now fits. With no tenant defined, jobs
start at once as they always did (a job that does not fit pends on the swarm).
"""

import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import replace

from quartermaster.jobs import audit
from quartermaster.jobs.errors import (
    Forbidden,
    JobNotFound,
    NeverPlaced,
    StoreError,
    SwarmError,
    TooManyRuns,
)
from quartermaster.jobs.fair_share import QueuedJob, SwarmRoom, never_fits, queue_owner
from quartermaster.jobs.runtime import JobRuntime
from quartermaster.jobs.spec import JobSpec
from quartermaster.jobs.status import QUEUED, JobStatus
from quartermaster.jobs.tenancy import Actor, Tenant, quota_breaches
from quartermaster.process import metrics
from quartermaster.store.admission import AdmissionStore, Admitted
from quartermaster.store.audit import AuditStore

log = logging.getLogger(__name__)
TOO_MANY_RUNS = (
    "tenant {tenant}: {runs} runs a minute at most; the next is taken in {seconds:.0f} s"
)

# What /status says of a queued job when the store cannot say where it stands.
PLACE_UNKNOWN = "queued: where it stands is not known now (the store is out of reach)"
# How long a process goes by its last answer to "is a tenant defined?" (a first tenant is in
# force within this on every worker).
TENANCY_SECONDS = 1.0


class Quotas:
    def __init__(
        self,
        runtime: JobRuntime,
        admission: AdmissionStore,
        audit_store: AuditStore,
        any_tenant: Callable[[], bool] = lambda: False,
    ):
        self._runtime = runtime
        self._admission = admission
        self._audit = audit_store
        self._any_tenant = any_tenant
        self._tenancy: tuple[bool, float] | None = None  # the last answer, and when (monotonic)

    def admits(self, tenant: Tenant | None) -> bool:
        """Whether a job of `tenant` (None: the operator's) is admitted before it runs: with any
        tenant defined. The store out of reach: as last known (at first, no: the job starts)."""
        if tenant is not None:
            return True
        now = time.monotonic()
        if self._tenancy is None or now - self._tenancy[1] >= TENANCY_SECONDS:
            try:
                self._tenancy = (self._any_tenant(), now)
            except StoreError:
                return self._tenancy is not None and self._tenancy[0]
        return self._tenancy[0]

    def room_for(self, job: JobSpec) -> SwarmRoom:
        """The swarm's room now, for the job's admission; a job no node could ever take, even
        with the swarm empty, is refused (400 naming the field)."""
        room = self._runtime.room()
        queued = QueuedJob.of_request("", job.tenant, 0, vars(job))
        breaches = never_fits(queued, room.nodes) if room.nodes else {}
        if breaches:
            names = ", ".join(sorted(breaches))
            raise NeverPlaced(f"invalid request: {names}", breaches)
        return room

    def check(self, actor: Actor, tenant: Tenant, job: JobSpec) -> None:
        """Refuse, audited, a job that could never fit the tenant's quota (403 naming the
        field), or a /run past its `runs_per_minute` (429 with when to retry); a /run taken is
        counted."""
        breaches = quota_breaches(tenant.quota, job)
        if breaches:
            metrics.quota_refusals.labels(tenant.name, "never_fits").inc()
            self._audit_refusal(actor, tenant.name, 403)
            message = f"this tenant's quota refuses: {', '.join(sorted(breaches))}"
            raise Forbidden(message, breaches, audited=True)
        limit = tenant.quota.runs_per_minute
        if limit is None:
            return
        wait = self._admission.take_run(tenant.name, limit, time.time())
        if wait is not None:
            metrics.quota_refusals.labels(tenant.name, "runs_per_minute").inc()
            self._audit_refusal(actor, tenant.name, 429)
            message = TOO_MANY_RUNS.format(tenant=tenant.name, runs=limit, seconds=wait)
            raise TooManyRuns(message, retry_after=wait, audited=True)

    def add_held(
        self,
        actor: Actor,
        status: JobStatus,
        request: dict,
        ttl: int,
        key: tuple[str, str] | None,
        ran: audit.AuditEntry,
        room: SwarmRoom,
    ) -> None:
        """The first record of a job made held, and its admission over the swarm's `room`:
        released if it fits now (with any other job the pass admitted). A full queue refuses it
        (429): its service is removed. With the store out of reach it stays queued: the reaper
        records it, and admits it once the store is back."""
        try:
            admission = self._admission.add(status, request, ttl, time.time(), key, ran, room)
        except TooManyRuns:
            metrics.quota_refusals.labels(status.tenant, "queue_full").inc()
            with contextlib.suppress(JobNotFound):
                self._runtime.stop_job(status.id)
            self._audit_refusal(actor, status.tenant, 429)
            raise
        except StoreError as error:
            log.warning("job %s: queued, not recorded now (%s); the reaper will", status.id, error)
            return
        if admission.recorded_before:
            # A reaper recorded it first, queued (the job looked unrecorded to its round): the
            # queues are looked at now, as the reaper's next full round would.
            self.admit()
            return
        if admission.admitted:
            metrics.note_admitted(queue_owner(status.tenant), 0.0)
            self.release(status.id)
        self._released(admission.others, time.time())

    def admit(self) -> int:
        """Admit what of the queues fits now (room freed: a job ended or was stopped, a quota
        raised): how many. Best effort: the reaper's next round looks again."""
        try:
            if not self._admission.anything_waiting():
                return 0
            room = self._runtime.room()
            now = time.time()
            admitted = self._admission.admit(room, now)
        except (StoreError, SwarmError) as error:
            log.warning("the queues not looked at now (%s)", error)
            return 0
        self._released(admitted, now)
        return len(admitted)

    def _released(self, admitted: list[Admitted], now: float) -> None:
        for job in admitted:
            metrics.note_admitted(queue_owner(job.tenant), now - job.queued_since)
            log.info("job %s of %s admitted", job.job_id, queue_owner(job.tenant))
            self.release(job.job_id)

    def placed(self, status: JobStatus) -> JobStatus:
        """A queued job's status with its place in its tenant's queue and what holds it."""
        if status.status != QUEUED:
            return status
        try:
            place = self._admission.place(status.id)
        except StoreError:
            return replace(status, error=PLACE_UNKNOWN)
        if place is None:
            return status  # admitted meanwhile: its runs are on their way
        return replace(status, queue_position=place.position, error=place.reason)

    def release(self, job_id: str) -> None:
        """Give an admitted job its runs; if that fails now, the reaper's next full round does
        (a held service whose record is admitted: reaper/reaper.py)."""
        try:
            self._runtime.release_job(job_id)
        except JobNotFound:
            pass  # stopped meanwhile: its record says so
        except SwarmError as error:
            log.warning("job %s: admitted, not released now (%s); the reaper will", job_id, error)

    def _audit_refusal(self, actor: Actor, tenant: str | None, code: int) -> None:
        refused = audit.entry(actor, audit.RUN_REFUSED, None, tenant, code)
        with contextlib.suppress(StoreError):  # the refusal stands, audited or not
            self._audit.add(refused, time.time())
