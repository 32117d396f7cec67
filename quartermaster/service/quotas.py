"""A tenant's quota (jobs/tenancy.py's TenantQuota) at /run and after it.

Before a job's service is made: a job that could never fit is refused (403), and a /run past
`runs_per_minute` (429, counted in the store across every worker and instance). A tenant whose
quota caps its live jobs has each job made held (queued on the swarm: no run) and admitted in
the store (store/admission.py): released at once if it fits, else when room frees, first come
first admitted. Room frees when a live job of the tenant ends (the reaper sees it), is stopped,
or the quota is raised: each of those admits what now fits.
"""

import contextlib
import logging
import time
from dataclasses import replace

from quartermaster.jobs import audit
from quartermaster.jobs.errors import (
    Forbidden,
    JobNotFound,
    StoreError,
    SwarmError,
    TooManyRuns,
)
from quartermaster.jobs.runtime import JobRuntime
from quartermaster.jobs.spec import JobSpec
from quartermaster.jobs.status import QUEUED, JobStatus
from quartermaster.jobs.tenancy import Actor, Tenant, quota_breaches
from quartermaster.process import metrics
from quartermaster.store.admission import AdmissionStore
from quartermaster.store.audit import AuditStore

log = logging.getLogger(__name__)
TOO_MANY_RUNS = (
    "tenant {tenant}: {runs} runs a minute at most; the next is taken in {seconds:.0f} s"
)

# What /status says of a queued job when the store cannot say where it stands.
PLACE_UNKNOWN = "queued: where it stands is not known now (the store is out of reach)"


class Quotas:
    def __init__(self, runtime: JobRuntime, admission: AdmissionStore, audit_store: AuditStore):
        self._runtime = runtime
        self._admission = admission
        self._audit = audit_store

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
    ) -> None:
        """The first record of a job made held, and its admission: released if it fits now.
        A full queue refuses it (429): its service is removed. With the store out of reach it
        stays queued: the reaper records it, and admits it once the store is back."""
        try:
            admission = self._admission.add(status, request, ttl, time.time(), key, ran)
        except TooManyRuns:
            metrics.quota_refusals.labels(status.tenant, "queue_full").inc()
            with contextlib.suppress(JobNotFound):
                self._runtime.stop_job(status.id)
            self._audit_refusal(actor, status.tenant, 429)
            raise
        except StoreError as error:
            log.warning("job %s: queued, not recorded now (%s); the reaper will", status.id, error)
            return
        if admission.admitted:
            metrics.note_admitted(status.tenant or "", 0.0)
            self.release(status.id)
        elif admission.recorded_before and status.tenant is not None:
            # A reaper recorded it first, queued (the job looked unrecorded to its round): its
            # queue is looked at now, as the reaper's next full round would.
            self.admit(status.tenant)

    def admit(self, tenant: str) -> int:
        """Admit what of `tenant`'s queue fits now (room freed: a job ended or was stopped, the
        quota raised): how many. Best effort: the reaper's next round looks again."""
        now = time.time()
        try:
            admitted = self._admission.admit(tenant, now)
        except StoreError as error:
            log.warning("tenant %s: its queue not looked at now (%s)", tenant, error)
            return 0
        for job in admitted:
            metrics.note_admitted(tenant, now - job.queued_since)
            log.info("job %s of tenant %s admitted", job.job_id, tenant)
            self.release(job.job_id)
        return len(admitted)

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
