"""The use cases the API offers, over the runtime (live jobs: the swarm) and the store (history).

A live job is read from the swarm, always; a job the swarm no longer holds is read from its
record. A job whose record says its service is gone (archived: the reaper or /stop removed it) is
read from the store alone, without asking the swarm: most reads are of finished jobs. Writes to
the store on the way (the first record at /run, the log and `shutdown` at /stop) are best
effort: when the store cannot be reached the swarm still runs and stops jobs (a stopped job is
halted, its service kept and its log set aside), and the reaper writes what is missing once the
store is back (reaper/recording.py).
"""

import contextlib
import functools
import logging
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import replace
from typing import TypeVar

from quartermaster.jobs import audit
from quartermaster.jobs.audit import AuditEntry
from quartermaster.jobs.errors import Forbidden, IdempotencyConflict, JobNotFound, StoreError
from quartermaster.jobs.history import JobHistory, LogKeeper, recorded_request, select_kept
from quartermaster.jobs.idempotency import KEY_REUSED, KeyHashes
from quartermaster.jobs.logs import LogOptions
from quartermaster.jobs.nodes import NodesReading, SwarmHealth
from quartermaster.jobs.query import JobPage, JobQuery, TaggedPage, page_tag, tag_matches
from quartermaster.jobs.references import is_full_id
from quartermaster.jobs.runtime import JobRuntime
from quartermaster.jobs.spec import JobDefaults, JobSpec
from quartermaster.jobs.status import SHUTDOWN, JobStatus
from quartermaster.jobs.tenancy import Actor, Tenant, TenantPolicy, policy_breaches, under_policy
from quartermaster.jobs.times import NANO, timestamp_of
from quartermaster.process import metrics
from quartermaster.process.config import Config
from quartermaster.process.recent_reads import ArchivedLogs, ArchivedStatuses, LiveReferences
from quartermaster.service.quotas import Quotas
from quartermaster.store import RecordStore, StoreSize
from quartermaster.store.admission import AdmissionStore
from quartermaster.store.audit import AuditStore

log = logging.getLogger(__name__)
# The store's size is a full scan (RecordStore.size): a process measures it at most this often.
STORE_SIZE_SECONDS = 60.0

T = TypeVar("T")


def _never() -> bool:
    return False


class JobService:
    """What the blueprints call: the runtime's interface, with history behind it."""

    def __init__(
        self,
        runtime: JobRuntime,
        store: RecordStore,
        config: Config,
        tenant_of: Callable[[str], Tenant] = Tenant,
        audit_store: AuditStore | None = None,
        quotas: Quotas | None = None,
    ):
        self.runtime = runtime
        self.store = store
        self._config = config
        self._tenant_of = tenant_of  # a tenant (its policy, its quota) as the store has it now
        self._audit = audit_store or AuditStore(store.connection)
        self._quotas = quotas or Quotas(runtime, AdmissionStore(store.connection), self._audit)
        self._defaults = JobDefaults(config.memory_mb, config.constraints, config.ttl)
        self._size: StoreSize | None = None
        self._size_measured_at: float | None = None  # time.monotonic()
        self._size_lock = threading.Lock()  # one measurement at a time; the others wait for it
        self._archived_statuses = ArchivedStatuses()
        self._archived_logs = ArchivedLogs()
        self._live_references = LiveReferences()

    def health(self) -> SwarmHealth:
        return self.runtime.health()

    def store_size(self) -> StoreSize | None:
        """What the store holds, as this process measured it at most STORE_SIZE_SECONDS ago
        (None: the store could not be reached then); each measurement sets the metrics' gauges."""
        with self._size_lock:
            now = time.monotonic()
            if self._size_measured_at is None or now - self._size_measured_at >= STORE_SIZE_SECONDS:
                try:
                    self._size = self.store.size()
                except StoreError:
                    self._size = None
                else:
                    metrics.store_records.set(self._size.records)
                    metrics.store_log_bytes.set(self._size.log_bytes)
                self._size_measured_at = now
            return self._size

    def readiness_problem(self) -> str | None:
        return self.runtime.readiness_problem()

    def nodes(self) -> NodesReading:
        return self.runtime.nodes()

    def list_jobs(
        self, actor: Actor, query: JobQuery, if_none_match: str | None = None
    ) -> TaggedPage:
        """A page of the history, its live jobs' statuses as the swarm has them now (a live job
        whose status changed since it was recorded and no longer matches a status filter is
        left out: a page may be short, and its cursor holds); with its tag. No page, and no call
        to the swarm, when `if_none_match` names that tag: nothing on it changed since."""
        if not actor.is_operator:
            query = replace(query, tenant=actor.tenant)  # its own jobs, whatever it asked
        page = self.store.page(query)
        tag = page_tag(query, page)
        if if_none_match is not None and tag_matches(if_none_match, tag):
            return TaggedPage(None, tag)
        live = self.runtime.job_statuses([job.id for job in page.jobs if not job.is_final])
        jobs = [self._quotas.placed(live[job.id]) if job.id in live else job for job in page.jobs]
        if query.statuses:
            jobs = [job for job in jobs if job.status in query.statuses]
        return TaggedPage(JobPage(jobs, page.next_cursor), tag)

    def create_job(self, actor: Actor, job: JobSpec) -> str:
        """Start the job, then write its first record (see the module's docstring). The job runs
        with the configured defaults applied here, once; its record keeps that, what ran. An
        Idempotency-Key holds as long as its job's record: a key the history knows answers its
        job (or 409 for another request); the swarm settles keys of live jobs and racing
        requests. A tenant's job is its tenant's, and must meet its policy (403 naming what
        breaks it; only a missing timeout takes the policy's)."""
        job = replace(job, tenant=actor.tenant, run_by=audit.actor_name(actor))
        key = KeyHashes.of(job)  # of the request as sent: a retry hashes the same
        if key is not None:
            known = self._job_with_key(key.key)
            if known is not None:
                if known[1] != key.request:
                    raise IdempotencyConflict(KEY_REUSED)
                return known[0]
        # The key itself goes no further: the runtime and the record have its hashes.
        tenant = None if job.tenant is None else self._tenant_of(job.tenant)
        job = replace(self._defaults.applied_to(job), idempotency_key=None)
        if tenant is not None:
            job = self._under_policy(actor, tenant.policy, job)
            self._quotas.check(actor, tenant, job)
        # With tenants defined, a job is admitted before it runs (service/quotas.py).
        room = self._quotas.room_for(job) if self._quotas.admits(tenant) else None
        job_id = self.runtime.create_job(job, key, held=room is not None)
        request = recorded_request(job, env_values=self._config.keep_env_values)
        try:
            # Without a key the job is new, made now: its description is its first record. With
            # one it may be an earlier request's job, which may have run: asked in full.
            if key is None:
                status = self.runtime.new_job_status(job_id)
            else:
                status = self.runtime.job_status(job_id)
        except JobNotFound:
            return job_id  # stopped already, by another request: /stop kept what it could
        if status.name != job.name:
            # Another name: the job an earlier request with this Idempotency-Key made, whose
            # record could not be written then. What ran is its request, not this one (whose
            # name was generated anew): the reaper records it from its service.
            return job_id
        ttl = request["ttl"]  # the job's own or the default: never None now
        ran = audit.entry(actor, audit.RUN, job_id, job.tenant)
        if room is not None:
            self._quotas.add_held(actor, status, request, ttl, key, ran, room)
            return job_id
        self._best_effort(
            job_id, lambda: self.store.add(status, request, ttl, time.time(), key, ran)
        )
        return job_id

    def _under_policy(self, actor: Actor, policy: TenantPolicy, job: JobSpec) -> JobSpec:
        """The job as its tenant's policy has it run; a breach refused (403), and audited."""
        breaches = policy_breaches(policy, job)
        if breaches:
            refused = audit.entry(actor, audit.RUN_REFUSED, None, job.tenant, 403)
            with contextlib.suppress(StoreError):  # the refusal stands, audited or not
                self._audit.add(refused, time.time())
            raise Forbidden(
                f"this tenant's policy refuses: {', '.join(sorted(breaches))}",
                breaches,
                audited=True,
            )
        return under_policy(policy, job)

    def _job_with_key(self, hashed_key: str) -> tuple[str, str | None] | None:
        try:
            return self.store.job_with_key(hashed_key)
        except StoreError:
            return None  # the swarm still knows the keys of the jobs it holds

    def job_status(
        self,
        actor: Actor,
        reference: str,
        wait: float = 0,
        abandoned: Callable[[], bool] = _never,
    ) -> JobStatus:
        tenant = _scope(actor)
        live = self._live_first(
            tenant, reference, lambda: self.runtime.job_status(reference, wait, abandoned, tenant)
        )
        if live is None:
            archived = self._archived(tenant, reference)
            if archived is not None:
                return archived  # final: a wait is over at once
            try:
                live = self.runtime.job_status(reference, wait, abandoned, tenant)
            except JobNotFound:
                return self.store.status(reference, tenant)
        self._note_live(tenant, reference, live)
        return self._quotas.placed(live)

    def job_history(self, actor: Actor, reference: str) -> JobHistory:
        """The job's request and timeline, from its record; `reference` resolves as for status
        (a live job wins)."""
        tenant = _scope(actor)
        read_live = functools.partial(self.runtime.job_status, reference, tenant=tenant)
        live = self._live_first(tenant, reference, read_live)
        if live is not None:
            return self.store.history(live.id)
        archived = self._archived(tenant, reference)
        if archived is not None:
            return self.store.history(archived.id)
        with contextlib.suppress(JobNotFound):  # not live: only the history may hold it
            reference = read_live().id
        return self.store.history(reference, tenant)

    def job_logs(
        self,
        actor: Actor,
        reference: str,
        options: LogOptions,
        abandoned: Callable[[], bool] = _never,
    ) -> Iterable[bytes]:
        """The job's output: a live job's as the runtime streams it (see JobRuntime); a kept
        log in one piece, in a list, so that its answer is sized (one write, not a chunked
        stream)."""
        tenant = _scope(actor)
        read_live = functools.partial(
            self.runtime.job_logs, reference, options, abandoned, tenant=tenant
        )
        live = self._live_first(tenant, reference, read_live)
        if live is not None:
            return live
        record = self._archived(tenant, reference)
        if record is None:
            with contextlib.suppress(JobNotFound):  # not live: only the history may hold it
                return read_live()
            record = self.store.status(reference, tenant)
            return [select_kept(self.store.kept_log(record.id), options)]
        return [select_kept(self._archived_log(record.id), options)]

    def _archived_log(self, job_id: str) -> list[tuple[int, bytes]]:
        """An archived job's kept log: read lately, from ArchivedLogs, without a statement."""
        chunks = self._archived_logs.get(job_id)
        if chunks is None:
            chunks = self.store.kept_log(job_id)
            self._archived_logs.keep(job_id, chunks)
        return chunks

    def stop_job(self, actor: Actor, reference: str) -> str:
        """Keep what the job printed, record it `shutdown` (unless it had ended), remove it. A
        job only the history holds is over already: its id, and nothing changes. When its record
        cannot be written now (the store out of reach, or no record yet), the job is halted
        instead, its log set aside first: its runs stop, its service stays for the reaper to
        record (with that log) and remove."""
        # A name or a prefix may mean a live job not recorded yet (see _archived): the swarm
        # decides those.
        tenant = _scope(actor)
        if is_full_id(reference):
            archived = self._archived(tenant, reference)
            if archived is not None:
                return archived.id
        try:
            status = self.runtime.job_status(reference, tenant=tenant)
        except JobNotFound:
            return self.store.status(reference, tenant).id
        for known_live in (reference, status.id):  # gone or going: the store answers next
            self._live_references.forget(_scoped(tenant, known_live))
        kept = self.runtime.capture_log(status.id, self._config.log_keep_bytes)
        stopped = audit.entry(actor, audit.STOP, status.id, status.tenant)
        if not self._keep_stopped(status, kept, stopped):
            # Halting loses the runs' output: their log is set aside first, for the final
            # record (and the stop's audit entry) the reaper writes once it can.
            self.runtime.set_log_aside(status.id, kept)
            return self.runtime.halt_job(status.id, stopped.actor)
        # Recorded `shutdown`, the stop is under way: if this process dies or Docker fails
        # before the service is gone, the reaper removes it (reaper/recording.py), which may
        # be first, too.
        with contextlib.suppress(JobNotFound):
            self.runtime.stop_job(status.id)
        self._best_effort(status.id, lambda: self.store.service_removed(status.id, time.time()))
        self._quotas.admit()  # its room, or its queue's head, is free now
        return status.id

    def _note_live(self, tenant: str | None, reference: str, status: JobStatus) -> None:
        """A reference /status found live is asked of the swarm first next time, while its job
        runs: polling it costs no statement. Once /status finds it final it is forgotten: its
        service goes soon, and then the store alone answers for it."""
        if status.is_final:
            self._live_references.forget(_scoped(tenant, reference))
        else:
            self._live_references.keep(_scoped(tenant, reference))

    def _live_first(
        self, tenant: str | None, reference: str, read_live: Callable[[], T]
    ) -> T | None:
        """What `read_live` reads of the swarm if /status found `reference` live lately and it
        still is; else None, and the reference is forgotten: the store is asked first again. A
        job gone since this process last saw it running costs one call, once."""
        if _scoped(tenant, reference) not in self._live_references:
            return None
        try:
            return read_live()
        except JobNotFound:
            self._live_references.forget(_scoped(tenant, reference))
            return None

    def _archived(self, tenant: str | None, reference: str) -> JobStatus | None:
        """The job `reference` means if the store alone answers for it (its record says its
        service is gone), else None: the swarm is asked, as it is when the store is out of reach.

        A record never hides a live job: a name means its newest record (a live job of that name
        has a newer one) and a prefix needs exactly one match. The one exception is a live job
        whose first record is not written yet (the store was out of reach at its /run; the
        reaper writes it within a round once the store is back): until then a name or a prefix
        of it may still mean an archived job, for reads. Read lately by its full id: from
        ArchivedStatuses, without a statement."""
        if is_full_id(reference):
            kept = self._archived_statuses.get(reference)
            if kept is not None and tenant in (None, kept.tenant):
                return kept
        try:
            archived = self.store.archived(reference, tenant)
        except StoreError:
            return None
        if archived is not None:
            self._archived_statuses.keep(archived)
        return archived

    def _keep_stopped(self, status: JobStatus, kept: LogKeeper, stopped: AuditEntry) -> bool:
        """The stopped job's final record and log written (now, or before), with the stop's
        audit entry; False when they cannot be now."""
        now = time.time()
        if not status.is_final:
            finished_at = timestamp_of(round(now * NANO))
            status = replace(status, status=SHUTDOWN, state=SHUTDOWN, finished_at=finished_at)
        lines = list(kept.lines)
        try:
            written = self.store.finish(
                status, lines, kept.truncated, now, detail="stopped by /stop", entry=stopped
            )
            if written:
                return True
            if not self.store.log_kept(status.id):
                return False
            with contextlib.suppress(StoreError):  # it had ended: its service goes now
                self._audit.add(stopped, now)
            return True
        except StoreError as error:
            log.warning("job %s: stopped, kept for the reaper to record (%s)", status.id, error)
            return False

    @staticmethod
    def _best_effort(job_id: str, write: Callable[[], bool | None]) -> bool:
        """A write whose failure, whatever it is, does not undo what the swarm did already."""
        try:
            return write() is not False
        except StoreError as error:
            log.warning("job %s: not recorded now (%s); the reaper will", job_id, error)
            return False


def _scope(actor: Actor) -> str | None:
    """The tenant whose jobs the actor reaches; None: every job (the operator)."""
    return None if actor.is_operator else actor.tenant


def _scoped(tenant: str | None, reference: str) -> str:
    """A reference as a worker remembers it: the same words mean another job to another
    tenant (a name is a tenant's own)."""
    return reference if tenant is None else f"{tenant}\0{reference}"
