"""The reaper: stops jobs that run past their timeout, delivers callbacks, records jobs in the
record store (recording.py), removes recorded jobs' services and expired records.

One runs per quartermaster instance (gunicorn's master starts it beside its workers, and again
whenever it dies: see supervisor.py), every REAPER_INTERVAL seconds. It keeps nothing in memory that
matters: each round reads the swarm and the store's live records afresh, and what it must remember
is written back to the swarm or the store, so a restart loses nothing and several instances racing
against one swarm do each thing once.
"""

import contextlib
import json
import logging
import os
import signal
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from quartermaster.jobs import labels as job_labels
from quartermaster.jobs.callback_addresses import CallbackRefused, parse_target, printable_url
from quartermaster.jobs.errors import (
    SWARM_CALL_ERRORS,
    JobNotFound,
    StoreError,
    StoreRefused,
    StoreUnavailable,
    SwarmError,
)
from quartermaster.jobs.fair_share import queue_owner
from quartermaster.jobs.status import QUEUED, status_document
from quartermaster.process import heartbeat, metrics
from quartermaster.process.config import Config, from_env
from quartermaster.process.json_logging import configure_json_logging
from quartermaster.reaper import callbacks
from quartermaster.reaper.recording import Recorder, spent_logs
from quartermaster.reaper.supervisor import SETTINGS_ON_STDIN
from quartermaster.store import LiveRecord, RecordStore
from quartermaster.store.admission import AdmissionStore
from quartermaster.store.audit import AuditStore
from quartermaster.store.host import SEVERAL_HOSTS, host_identity
from quartermaster.swarm.payloads import orphan_payloads
from quartermaster.swarm.reaping import Notice, Plan, Snapshot, plan
from quartermaster.swarm.runtime import Swarm
from quartermaster.swarm.service_events import ServiceEvents

log = logging.getLogger("quartermaster.reaper")
# Callbacks delivered at once, each in a thread of its own and over within
# callbacks.DEADLINE_SECONDS. A callback is claimed only when a slot is free for it, and one
# receiver (host:port) gets at most SLOTS_PER_RECEIVER of them: a receiver that answers slowly, or
# never, holds up only its own callbacks, and the other slots stay free for the others.
DELIVERY_SLOTS = 32
SLOTS_PER_RECEIVER = 2
HOST_NOTE_SECONDS = 60  # how often a reaper on a SQLite store says which host it is on
# Between full rounds, which read every job and record (with 10,000 jobs waiting for a node,
# about a second of the reaper's CPU and as much of dockerd's: docs/performance.md). What no
# event or placed task shows is caught by one: a job waiting for a node whose task changed state
# (tasks have no events), or a /stop that died between its record and removing the service of a
# job never placed. Five minutes keeps the cost of full rounds within 1% of a core, and such a
# job's record at most five minutes behind.
FULL_ROUND_SECONDS = 300
# Quick rounds between two that ask for every task placed on a node, to find the jobs that were
# waiting and are placed now (their task changed: tasks have no events). Swarm finds those tasks
# by walking every task, the waiting ones included (about 14 us of dockerd's CPU each: 140 ms a
# call with 10,000 jobs waiting), so every sixth round: a job placed since (its run started, or
# even ended) is seen within 6 intervals, 30 s by default; the jobs seen placed are read every
# round by their ids. With fewer than FEW_WAITING jobs waiting (as the last full round counted
# them), every quick round asks (at most 14 ms of dockerd's CPU a round): a job that waited a
# while (an image's pull, memory other jobs hold) is seen placed, recorded and called back
# within a round, as before quick rounds.
PLACED_SCAN_ROUNDS = 6
FEW_WAITING = 1000


def scans_placed(quick_rounds: int, waiting: int) -> bool:
    """Whether a quick round (the `quick_rounds`-th since the last full round, from 0) asks for
    every task placed on a node, with `waiting` jobs waiting for one."""
    return waiting < FEW_WAITING or quick_rounds % PLACED_SCAN_ROUNDS == PLACED_SCAN_ROUNDS - 1


class Reaper:
    def __init__(self, config: Config):
        self._config = config
        swarm = Swarm(config)
        self._swarm = swarm
        self._swarm_connection = swarm.connection
        self._reaping = swarm.reaping
        self._store = RecordStore(config.store_url)
        self._audit = AuditStore(self._store.connection)
        self._admission = AdmissionStore(self._store.connection)
        self._recorder = Recorder(swarm, self._reaping, self._store, config.log_keep_bytes)
        self._host_noted_at = 0.0
        # Deliveries run beside the rounds, one slot each (never queued: see DELIVERY_SLOTS).
        self._deliveries = ThreadPoolExecutor(DELIVERY_SLOTS, thread_name_prefix="callback")
        self._in_flight: dict[str, str] = {}  # job id: its receiver
        self._lock = threading.Lock()
        self.store_answered = True  # in the last round
        self._unrecorded: set[str] = set()  # jobs the last quick round saw without a record
        self._watched: set[str] = set()  # the jobs the last round saw placed on a node, or final
        self.waiting = 0  # jobs waiting for a node, as the last full round counted them
        self._room_seen: tuple = ()  # what the swarm had free when the queues were last looked at

    def run_once(self) -> Plan:
        """A full round: every job of this deployment, and every live record, read."""
        records = self._live_records(self._store.live)  # before the swarm's: see recording.py
        snapshot = self._reaping.snapshot()
        # Now, after the records are read, as in a quick round: a record read was written
        # before it, so a change seen is recorded after the job's first record (a /run's that
        # committed while the round read), and its timeline stays in order.
        return self._act(snapshot, records, time.time(), full=True)

    def run_quick(
        self, changed: Iterable[str], removed: Iterable[str] = (), scan_placed: bool = True
    ) -> Plan:
        """A quick round: only the jobs that may need something done (Reaping.quick_snapshot:
        placed on a node, named by an event in `changed`, or with a callback record or a log
        set aside), and only their records, those of the `removed` services' included. The
        store is read after the swarm here: a record is asked for by the id of a job the swarm
        showed or an event named, and one whose service is not found is checked again before
        being called lost (Recorder._finish_lost)."""
        # The jobs the last round saw placed on a node or final are looked at again until
        # their service goes, whether or not the tasks on nodes are asked for this round (one
        # never placed, halted while it waited, has no task on a node to show it).
        snapshot, looked_at = self._reaping.quick_snapshot(
            {*changed, *self._watched}, set(removed), scan_placed
        )
        records = self._live_records(lambda: self._store.live_of(looked_at))
        # Now, after the records are read: a change seen is recorded after its job's first
        # record (a /run's, written in the meantime), so the timeline stays in order.
        return self._act(snapshot, records, time.time(), full=False)

    def _act(
        self, snapshot: Snapshot, records: dict[str, LiveRecord] | None, now: float, full: bool
    ) -> Plan:
        """Act on the snapshot. A quick round (not `full`) reads the store after the swarm, so
        it imports a job without a record only when the round before saw it without one too:
        a job first seen so is most often a /run's whose record is on its way (the next round
        looks at it again)."""
        self.store_answered = records is not None
        work = plan(snapshot, now, self._config.ttl, self._config.keep_finished)
        placed = {task["ServiceID"] for task in snapshot.tasks if task.get("NodeID")}
        final = {job_id for job_id, status in work.statuses.items() if status.is_final}
        not_yet: set[str] = set()
        if not full and records is not None:
            unrecorded = {s["ID"] for s in snapshot.services if s["ID"] not in records}
            not_yet = unrecorded - self._unrecorded  # first seen without a record: next round
            self._unrecorded = unrecorded
        self._watched = (placed & set(work.statuses)) | final | not_yet
        if full:
            queued = {job_id for job_id, status in work.statuses.items() if status.status == QUEUED}
            self.waiting = len(set(work.statuses) - placed - final - queued)
        # heartbeat.beat() after each action: a round with many is progress, not a stale reaper.
        for service in work.time_out:
            has_record = records is not None and service["ID"] in records
            status = work.statuses[service["ID"]]
            if not self._recorder.finish_timed_out(service, status, now, has_record):
                continue  # its log not kept: stopped in a later round
            if self._reaping.time_out(service, now):
                metrics.reaper_actions.labels("timed_out").inc()
                log.info("reaper: job %s ran past its timeout; stopped", service["ID"])
            heartbeat.beat()
        # Receivers with the fewest deliveries under way first: a slot that frees goes to a
        # receiver that is not holding others already.
        with self._lock:
            busy = Counter(self._in_flight.values())
        for notice in sorted(work.notify, key=lambda notice: busy[_receiver(notice.url)]):
            self._start_delivery(notice)
            heartbeat.beat()
        recorded = self._record(snapshot.services, work, records, now, not_yet)
        self._admit(snapshot.services, work, records, recorded, full)
        # A job's service goes only once its final record is written: never while the store
        # is out of reach.
        for service in work.expire:
            if service["ID"] in recorded and self._reaping.expire(service):
                metrics.reaper_actions.labels("expired").inc()
                log.info("reaper: job %s is recorded; its service removed", service["ID"])
                self._store_quietly(self._store.service_removed, service["ID"], now)
            heartbeat.beat()
        self._store_quietly(self._store.delete_expired, now)
        if full and self._config.audit_ttl:
            self._store_quietly(self._audit.delete_older_than, now - self._config.audit_ttl)
        if self._store.embedded and now - self._host_noted_at >= HOST_NOTE_SECONDS:
            self._store_quietly(self._note_host, now)
        services = {service["ID"] for service in snapshot.services}
        for kept_log in spent_logs(
            snapshot.kept_logs, services, records, recorded, now, self._config.ttl
        ):
            if self._reaping.remove_config(kept_log):
                log.info("reaper: a log set aside and recorded since (or spent) was removed")
            heartbeat.beat()
        for record in work.orphan_records:
            self._reaping.remove_config(record)
            heartbeat.beat()
        if full:
            for payload in orphan_payloads(snapshot.payloads, snapshot.services, now):
                if self._reaping.remove_config(payload):
                    log.info("reaper: a payload no job mounts was removed")
                heartbeat.beat()
        for claim in work.stale_claims:
            if self._reaping.remove_config(claim):
                metrics.reaper_actions.labels("claim_removed").inc()
                log.info("reaper: an Idempotency-Key claim whose holder is gone was removed")
            heartbeat.beat()
        for service in work.unreadable:
            log.warning("reaper: job %s has labels it cannot read; left alone", service["ID"])
        return work

    def _admit(
        self,
        services: list[dict],
        work: Plan,
        records: dict[str, LiveRecord] | None,
        recorded: set[str],
        full: bool,
    ) -> None:
        """Admit the queued jobs that fit now (their quota, the swarm's room): in a full round,
        in a round that saw a live job end (its room is free), and in one that recorded a
        queued job (its /run's own record not written: that /run died, or is slower than this
        round). And release a job admitted whose service is still held (its admitter died, or
        Docker failed it, before it could)."""
        if records is None:
            return  # the store out of reach: nothing to admit against
        for service in services:
            record = records.get(service["ID"])
            held = job_labels.QUEUED in service["Spec"].get("Labels", {})
            if held and record is not None and not (record.waiting or record.finished):
                log.info("reaper: job %s admitted, not released: released now", service["ID"])
                self._release(service["ID"])
        there = {service["ID"] for service in services}
        ended = recorded - {job_id for job_id, record in records.items() if record.finished}
        vanished = {
            job_id for job_id, record in records.items()
            if job_id not in there and not record.finished
        }  # fmt: skip
        imported_queued = any(
            status.status == QUEUED and job_id not in records
            for job_id, status in work.statuses.items()
        )
        self._admit_every_queue(force=full or bool(ended or vanished) or imported_queued)

    def _admit_every_queue(self, force: bool) -> None:
        """Admit what fits of the queues (store/admission.py decides, under its lock, over the
        swarm's room read first: whichever reaper or worker asks, none is admitted twice).
        Unless `force`d, only when the room changed since this reaper last looked: a stopped
        job's runs free their room only once they stop, which no event tells."""
        try:
            if not self._admission.anything_waiting():
                return
            room = self._swarm.room()
            if not force and room.free == self._room_seen:
                return
            self._room_seen = room.free
            now = time.time()
            admitted = self._admission.admit(room, now)
        except (StoreError, SwarmError) as error:
            log.warning("reaper: queues not looked at this round: %s", error)
            return
        for job in admitted:
            owner = queue_owner(job.tenant)
            metrics.note_admitted(owner, now - job.queued_since)
            log.info("reaper: job %s of %s admitted", job.job_id, owner)
            self._release(job.job_id)
            heartbeat.beat()

    def _release(self, job_id: str) -> None:
        """Give an admitted job its runs (a failure: the next full round releases it)."""
        try:
            self._swarm.release_job(job_id)
        except JobNotFound:
            pass  # stopped meanwhile: the next round records it
        except SwarmError as error:
            log.warning("reaper: job %s admitted, not released now: %s", job_id, error)

    def _live_records(
        self, read: Callable[[], dict[str, LiveRecord]]
    ) -> dict[str, LiveRecord] | None:
        try:
            return read()
        except StoreUnavailable as error:
            log.warning("reaper: the record store is out of reach; recording waits: %s", error)
            return None
        except StoreError as error:
            log.error("reaper: the record store cannot be used; recording waits: %s", error)
            return None

    def _record(
        self,
        services: list[dict],
        work: Plan,
        records: dict[str, LiveRecord] | None,
        now: float,
        not_yet: set[str],
    ) -> set[str]:
        """Mend the store against the swarm; the jobs whose final record is written."""
        if records is None:
            return set()
        try:
            return self._recorder.record(
                services, work.statuses, records, now, self._config.ttl, not_yet
            )
        except (StoreUnavailable, StoreRefused) as error:  # out of reach, or refusing a value
            log.warning("reaper: recording stopped mid-round: %s", error)
            self.store_answered = False
            return set()
        except StoreError as error:
            log.error("reaper: the record store cannot be used: %s", error)
            self.store_answered = False
            return set()

    def _note_host(self, now: float) -> None:
        others = self._store.note_host(*host_identity(), now)
        self._host_noted_at = now
        if others:
            log.warning("reaper: " + SEVERAL_HOSTS, ", ".join(sorted(set(others))))

    @staticmethod
    def _store_quietly(write: Callable[..., object], *args: object) -> None:
        """A write that may wait for the next round (its failure is logged by the store)."""
        with contextlib.suppress(StoreError):
            write(*args)

    def run_forever(self, stop: threading.Event, parent: int | None = None) -> None:
        """Rounds until `stop` is set, or until the process `parent` is no longer our parent.

        Quick rounds (run_quick), driven by Docker's service events, and a full round (run_once)
        at the start, every FULL_ROUND_SECONDS, when events may have gone unheard (the stream
        was down), after a round that failed or found the store out of reach (so a job made
        meanwhile, which no event may name any more, is recorded once it is back)."""
        log.info("reaper: running every %gs", self._config.reaper_interval)
        events = ServiceEvents(self._swarm_connection)
        events.start()
        full_round_at = 0.0  # monotonic: now
        quick_rounds = 0  # since the tasks placed on nodes were last asked for
        while not stop.is_set() and (parent is None or os.getppid() == parent):
            heard = events.take()
            full = heard.gap or time.monotonic() >= full_round_at or not self.store_answered
            try:
                if full:
                    full_round_at = time.monotonic() + FULL_ROUND_SECONDS
                    quick_rounds = 0
                    self.run_once()
                else:
                    scan_placed = scans_placed(quick_rounds, self.waiting)
                    quick_rounds += 1
                    self.run_quick(heard.changed, heard.removed, scan_placed)
            except SWARM_CALL_ERRORS as error:
                log.warning("reaper: round skipped: %s", error)
                full_round_at = 0.0
            except Exception:
                log.exception("reaper: round failed")
                full_round_at = 0.0
            heartbeat.beat()  # a round ended, even one Docker did not answer: the loop turns
            stop.wait(self._config.reaper_interval)
        events.stop()
        self.close()

    def close(self) -> None:
        self._deliveries.shutdown(wait=True)
        self._store.close()

    def _start_delivery(self, notice: Notice) -> None:
        """Claim the callback and deliver it in a free slot; with no slot free, leave it for a
        later round (unclaimed, so another reaper with room may take it)."""
        job_id, receiver = notice.status.id, _receiver(notice.url)
        with self._lock:
            if job_id in self._in_flight or len(self._in_flight) >= DELIVERY_SLOTS:
                return
            if list(self._in_flight.values()).count(receiver) >= SLOTS_PER_RECEIVER:
                return
            # Claimed now, not at the round's start: the lease runs from here.
            record = self._reaping.claim_callback(job_id, notice.record, time.time())
            if record is None:
                return  # another reaper has it
            self._in_flight[job_id] = receiver
        self._deliveries.submit(self._deliver, notice, record)

    def _deliver(self, notice: Notice, record: dict) -> None:
        try:
            result = callbacks.deliver(
                notice.url,
                status_document(notice.status),
                secret=self._config.callback_secret,
                allowed_hosts=self._config.callback_hosts,
                allow_private=self._config.callback_allow_private,
            )
            state = self._reaping.settle_callback(
                record, result.delivered, time.time(), self._config.callback_retry_seconds
            )
            if state is None:
                state = "not recorded: its record changed meanwhile"
            else:
                metrics.reaper_actions.labels(f"callback_{state}").inc()
                self._store_quietly(
                    self._store.callback_settled,
                    notice.status.id,
                    state,
                    result.detail,
                    time.time(),
                )
            log.info(
                "reaper: callback for job %s to %s: %s, %s",
                notice.status.id,
                printable_url(notice.url),
                result.detail,
                state,
            )
        except Exception:
            log.exception("reaper: callback for job %s failed", notice.status.id)
        finally:
            with self._lock:
                del self._in_flight[notice.status.id]


def _receiver(url: str) -> str:
    try:
        return parse_target(url).receiver
    except CallbackRefused:
        return url  # a URL that cannot be called: its delivery fails at once


def run(config: Config, parent: int | None = None) -> None:
    """The reaper process: rounds until SIGTERM or SIGINT, or until `parent` is gone (a
    quartermaster killed without a chance to stop its reaper)."""
    configure_json_logging()
    Reaper(config).run_forever(stop_on_signals(), parent)


def stop_on_signals() -> threading.Event:
    """An event SIGTERM and SIGINT set: a process's loops end at their next turn."""
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    return stop


def settings_of(argv: list[str]) -> tuple[Config, int | None]:
    """A background process's settings and its parent's pid: from its stdin, as the supervisor
    sends them (secrets included), or from the environment, like the server's."""
    if argv == [SETTINGS_ON_STDIN]:
        settings = json.loads(sys.stdin.read())
        fields: dict[str, Any] = {
            key: tuple(value) if isinstance(value, list) else value
            for key, value in settings["config"].items()
        }
        return Config(**fields), settings["parent"]
    return from_env(), None


def main(argv: list[str]) -> None:
    """`python -m quartermaster.reaper`: the reaper alone."""
    run(*settings_of(argv))
