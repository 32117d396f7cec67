"""The reaper's part of history: what the swarm shows of live jobs, written to the record store.

Each round compares the swarm's jobs with the store's live records (those whose service is not
removed) and mends the difference both ways:

    a job without a record       gets one (made while the store was down, or by an older
                                 quartermaster), from what its service says
    a status or state changed    is written, with a transition on the job's timeline
    a job that ended             gets its final record: last status, node and kept log, at once
    a record without its job     was removed with its final record written (/stop, expiry): its
                                 removal is noted; else it ended unseen, and is finished `lost`
    a `shutdown` final record    is a /stop that wrote it and died (or Docker failed it) before
    of a job that runs on        removing the service: the reaper removes it, the stop's end

A job stopped while its record could not be written (/stop or a timeout with the store away) had
its log set aside first (swarm/kept_logs.py): its final record takes that log (capture_log gives
it), and the reaper then removes it (spent_logs).

The store's records are read before the swarm is: a record made after that read (by a /run
meanwhile) waits for the next round, and never looks like a job whose service vanished.
"""

import logging
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field, replace

from quartermaster.jobs import audit, labels
from quartermaster.jobs.audit import AuditEntry
from quartermaster.jobs.errors import (
    SWARM_CALL_ERRORS,
    JobNotFound,
    StoreError,
    StoreRefused,
)
from quartermaster.jobs.history import LogKeeper
from quartermaster.jobs.runtime import JobRuntime
from quartermaster.jobs.status import FAILED, LOST, SHUTDOWN, JobStatus
from quartermaster.jobs.times import NANO, timestamp_of
from quartermaster.store import LiveRecord, RecordStore
from quartermaster.swarm.kept_logs import LOG_OF, SET_ASIDE_AT
from quartermaster.swarm.reaping import Reaping
from quartermaster.swarm.spec import request_of
from quartermaster.swarm.status import timed_out_error

log = logging.getLogger("quartermaster.reaper")
LOST_ERROR = "its service was removed while it ran, not by quartermaster; its end was not seen"


@dataclass(frozen=True)
class RecordWork:
    imports: list[str] = field(default_factory=list)  # jobs without a record
    changes: list[JobStatus] = field(default_factory=list)  # live jobs that changed
    finals: list[JobStatus] = field(default_factory=list)  # ended jobs without a final record
    removed: list[str] = field(default_factory=list)  # final records whose service is gone
    vanished: list[str] = field(default_factory=list)  # live records whose service is gone
    unfinished_stops: list[str] = field(default_factory=list)  # stopped, yet their job runs on


def plan_records(
    statuses: Mapping[str, JobStatus], services: set[str], records: Mapping[str, LiveRecord]
) -> RecordWork:
    """What to write. `statuses`: each readable job's; `services`: the id of every job's
    service, readable or not (one whose labels were edited by hand is there, untouched)."""
    work = RecordWork()
    for job_id, status in statuses.items():
        record = records.get(job_id)
        if record is None:
            work.imports.append(job_id)  # with the status as it is now
        elif record.finished:
            # Only /stop writes `shutdown` before its job is over (and then removes its service):
            # such a record of a job that is not over is a /stop that did not get to the end.
            if record.status == SHUTDOWN and not status.is_final:
                work.unfinished_stops.append(job_id)
            continue
        if status.is_final:
            work.finals.append(status)
        elif record is not None and (record.status, record.state) != (status.status, status.state):
            work.changes.append(status)
    for job_id, record in records.items():
        if job_id not in services:
            (work.removed if record.finished else work.vanished).append(job_id)
    return work


class Recorder:
    def __init__(
        self, swarm: JobRuntime, reaping: Reaping, store: RecordStore, log_keep_bytes: int
    ):
        self._swarm = swarm
        self._reaping = reaping
        self._store = store
        self._log_keep_bytes = log_keep_bytes

    def record(
        self,
        services: list[dict],
        statuses: Mapping[str, JobStatus],
        records: Mapping[str, LiveRecord],
        now: float,
        default_ttl: int,
        not_yet: Collection[str] = (),
    ) -> set[str]:
        """Mend the store against the swarm; the ids of the jobs whose final record is written.
        Any StoreError ends the round's recording (what is left waits for the next), but for a
        job whose record the store refuses (StoreRefused): it is passed over, the others written.
        The jobs `not_yet` names are left alone this round."""
        statuses = {job_id: status for job_id, status in statuses.items() if job_id not in not_yet}
        by_id = {service["ID"]: service for service in services}
        work = plan_records(statuses, set(by_id), records)
        for job_id in work.imports:
            _passing_over_refusals(
                job_id, self._import, by_id[job_id], statuses[job_id], now, default_ttl
            )
        for status in work.changes:
            _passing_over_refusals(status.id, self._store.observe, status, now)
        recorded = {job_id for job_id, record in records.items() if record.finished}
        if work.finals:
            names = self._reaping.node_names()
            for status in work.finals:
                node_name = names.get(status.node or "")
                stop = _halted_stop(by_id[status.id], status)
                if _passing_over_refusals(status.id, self._finish, status, node_name, now, stop):
                    recorded.add(status.id)
        for job_id in work.removed:
            self._store.service_removed(job_id, now)
        for job_id in work.vanished:
            self._finish_lost(job_id, now)
        for job_id in work.unfinished_stops:
            self._end_stop(by_id[job_id], now)
        return recorded

    def finish_timed_out(
        self, service: dict, status: JobStatus, now: float, has_record: bool
    ) -> bool:
        """The final record of a job about to be stopped for its timeout, with its log read
        now: once its runs are stopped swarm drops their tasks, and their logs with them. When
        the record cannot be written now (the store away, or no record yet), the log is set
        aside for the final record written later. False when the log could not be kept either
        way (Docker failed): the job is not to be stopped yet."""
        timed_out = replace(
            status,
            status=FAILED,
            error=timed_out_error(service["Spec"]["Labels"][labels.TIMEOUT]),
            finished_at=timestamp_of(round(now * NANO)),
        )
        try:
            kept = self._swarm.capture_log(status.id, self._log_keep_bytes)
            if has_record and self._finish_with(timed_out, kept, None, now):
                return True
            self._swarm.set_log_aside(status.id, kept)
        except SWARM_CALL_ERRORS as error:
            log.warning("reaper: the log of job %s could not be kept now: %s", status.id, error)
            return False
        log.info("reaper: job %s timed out unrecorded; its log is set aside", status.id)
        return True

    def _finish_with(
        self, status: JobStatus, kept: LogKeeper, node_hostname: str | None, now: float
    ) -> bool:
        """The final record with `kept` as its log, written now or before; False when the store
        cannot write it now."""
        try:
            self._store.finish(
                status, list(kept.lines), kept.truncated, now, node_hostname=node_hostname
            )
        except StoreError as error:
            log.warning("reaper: job %s is not recorded now: %s", status.id, error)
            return False
        return True

    def _import(self, service: dict, status: JobStatus, now: float, default_ttl: int) -> None:
        request = request_of(service)
        ttl = request["ttl"] if request["ttl"] is not None else default_ttl
        service_labels = service["Spec"].get("Labels", {})
        key = None
        if labels.IDEMPOTENCY_KEY in service_labels:
            key = (service_labels[labels.IDEMPOTENCY_KEY], service_labels.get(labels.REQUEST_HASH))
        # The /run's audit entry goes with the record, as /run would have written it.
        ran = _entry_of(service_labels.get(labels.RUN_BY), audit.RUN, status)
        if self._store.add(status, request, ttl, now, key, ran):
            log.info("reaper: job %s had no record; made one from its service", status.id)

    def _finish(
        self,
        status: JobStatus,
        node_hostname: str | None,
        now: float,
        stop: AuditEntry | None = None,
    ) -> bool:
        """The job's final record with its log (and `stop`, the audit entry of the /stop that
        halted it); False if its log could not be read now."""
        try:
            kept = self._swarm.capture_log(status.id, self._log_keep_bytes)
        except SWARM_CALL_ERRORS as error:
            log.warning("reaper: the log of job %s could not be kept now: %s", status.id, error)
            return False
        self._store.finish(
            status, list(kept.lines), kept.truncated, now, node_hostname=node_hostname, entry=stop
        )
        return True

    def _end_stop(self, service: dict, now: float) -> None:
        """Remove the service of a job /stop recorded `shutdown` (its log kept) and did not
        remove: its process died, or Docker failed it, in between."""
        if self._reaping.expire(service):
            log.info("reaper: job %s was stopped by /stop; its service removed", service["ID"])
            self._store.service_removed(service["ID"], now)

    def _finish_lost(self, job_id: str, now: float) -> None:
        if self._reaping.service_exists(job_id):
            return  # made after the round's snapshot: the next round sees it
        last_seen = self._store.status(job_id)
        lost = replace(
            last_seen,
            status=LOST,
            error=LOST_ERROR,
            finished_at=timestamp_of(round(now * NANO)),
        )
        try:  # its log, if one was set aside before its service went
            kept = self._swarm.capture_log(job_id, self._log_keep_bytes)
        except JobNotFound:
            kept = LogKeeper(self._log_keep_bytes)  # none, and no service to read one from
        lines = list(kept.lines)
        if self._store.finish(lost, lines, kept.truncated, now, detail=LOST_ERROR):
            log.warning("reaper: job %s is lost: %s", job_id, LOST_ERROR)
        self._store.service_removed(job_id, now)


def spent_logs(
    kept_logs: list[dict],
    services: set[str],
    records: Mapping[str, LiveRecord] | None,
    recorded: set[str],
    now: float,
    ttl: int,
) -> list[dict]:
    """The logs set aside (swarm/kept_logs.py) that no final record will take: their job's
    final record is written (`recorded`), or their job's service is gone and the store
    (`records`, None when it did not answer) has no live record of it (removed after its final
    record, expired, or never made); or, whatever the store, their job's service is gone and
    they were set aside `ttl` ago (the history's: a record would have expired by now)."""
    spent = []
    for kept_log in kept_logs:
        kept_labels = kept_log["Spec"].get("Labels", {})
        job_id = kept_labels.get(LOG_OF, "")
        service_gone = job_id not in services
        try:
            set_aside_at = float(kept_labels[SET_ASIDE_AT])
        except (KeyError, ValueError):
            set_aside_at = 0.0  # unreadable (edited by hand): as old as can be
        if (
            job_id in recorded
            or (service_gone and records is not None and job_id not in records)
            or (service_gone and set_aside_at + ttl <= now)
        ):
            spent.append(kept_log)
    return spent


def _passing_over_refusals(job_id: str, write: Callable[..., object], *args: object) -> object:
    """One job's write, and what it returns; None when the store refuses one of its values (a
    service made without /run's checks), which is logged: the other jobs' records are written,
    and their services expire."""
    try:
        return write(*args)
    except StoreRefused as error:
        log.warning("reaper: job %s is not recorded: %s", job_id, error)
        return None


def _entry_of(actor_name: str | None, action: str, status: JobStatus) -> AuditEntry:
    """The audit entry of an action a /run or /stop made and could not record: its actor as the
    job's labels name it (none: a job of a quartermaster from before them, the operator's)."""
    actor = audit.actor_named(actor_name or audit.OPERATOR_NAME)
    return audit.entry(actor, action, status.id, status.tenant)


def _halted_stop(service: dict, status: JobStatus) -> AuditEntry | None:
    """The audit entry of the /stop that halted the job (its record could not be written then)."""
    service_labels = service["Spec"].get("Labels", {})
    if labels.STOPPED not in service_labels:
        return None
    return _entry_of(service_labels.get(labels.STOPPED_BY), audit.STOP, status)
