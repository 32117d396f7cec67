"""The reaper's view of the swarm: what to do about each job, and the Docker calls that do it.

Services of `type: job` are swarm replicated-jobs, and swarm re-runs a job whenever its service is
updated; so the reaper never updates a job's service to keep state. What it must remember about
callbacks lives in a swarm config per job (`quartermaster-callback-<service id>`), whose labels can
change without touching the job. Every change is made against the object's version, so when
several reapers race, one wins and the others see a conflict and let it be.

The reaper also removes Idempotency-Key claims (configs too, see claims.py) whose holder is gone,
and logs set aside (kept_logs.py) once no final record is to take them.
"""

import logging
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from quartermaster.jobs import labels as job_labels
from quartermaster.jobs.errors import SWARM_CALL_ERRORS, JobNotFound
from quartermaster.jobs.nodes import NodesReading
from quartermaster.jobs.status import STARTED, JobStatus
from quartermaster.swarm import kept_nodes
from quartermaster.swarm.claims import CLAIM_OF, is_stale
from quartermaster.swarm.docker_connection import DockerConnection
from quartermaster.swarm.engine import EngineClient
from quartermaster.swarm.halting import halted_spec
from quartermaster.swarm.kept_logs import LOG_OF
from quartermaster.swarm.nodes import down_nodes_among, placed_job_tasks, summarize_nodes
from quartermaster.swarm.payloads import is_payload
from quartermaster.swarm.removal import remove_job_service
from quartermaster.swarm.status import epoch_of, job_status

log = logging.getLogger(__name__)

# Every config quartermaster makes is named so: callback records, Idempotency-Key claims and
# logs set aside.
CONFIG_PREFIX = "quartermaster-"
RECORD_PREFIX = CONFIG_PREFIX + "callback-"
RECORD_OF = job_labels.RESERVED_PREFIX + "callback-of"
STATE = job_labels.RESERVED_PREFIX + "callback-state"  # delivering, retrying, delivered, failed
ATTEMPTS = job_labels.RESERVED_PREFIX + "callback-attempts"
FIRST_AT = job_labels.RESERVED_PREFIX + "callback-first-at"
NEXT_AT = job_labels.RESERVED_PREFIX + "callback-next-at"  # retrying: not before
LEASE_UNTIL = job_labels.RESERVED_PREFIX + "callback-lease-until"  # delivering: claimed until
# A claim's life: the claim, a delivery (callbacks.DEADLINE_SECONDS) and its record, with room.
LEASE_SECONDS = 60
MAX_BACKOFF_SECONDS = 60
SETTLED = frozenset({"delivered", "failed"})
# Jobs asked for by id in one call of a quick round: about 30 kB of URL.
JOBS_PER_CALL = 1000


@dataclass(frozen=True)
class Notice:
    """A final job whose callback is due."""

    status: JobStatus
    url: str
    record: dict | None  # its callback record; None before the first attempt


@dataclass(frozen=True)
class Plan:
    time_out: list[dict]  # services of jobs running longer than their timeout
    notify: list[Notice]
    expire: list[dict]  # services of final jobs kept long enough, callbacks settled
    orphan_records: list[dict]  # callback records whose job is gone
    unreadable: list[dict]  # services whose labels make no sense (edited by hand): left alone
    stale_claims: list[dict]  # Idempotency-Key claims whose holder is gone
    statuses: dict[str, JobStatus] = field(default_factory=dict)  # each readable job's, by id


@dataclass(frozen=True)
class Snapshot:
    services: list[dict]  # every job's service
    tasks: list[dict]  # and their tasks
    records: list[dict]  # every callback record
    claims: list[dict] = field(default_factory=list)  # every Idempotency-Key claim
    kept_logs: list[dict] = field(default_factory=list)  # every log set aside (kept_logs.py)
    down_nodes: Mapping[str, str] = field(default_factory=dict)  # with runs stranded on them
    payloads: list[dict] = field(default_factory=list)  # every dispatch's payload (payloads.py)


def plan(snapshot: Snapshot, now: float, default_ttl: int, keep_finished: int) -> Plan:
    """What to do now. A final job's service goes `keep_finished` seconds after it ended, or
    its ttl if shorter (`default_ttl` for a service without a ttl label)."""
    services, tasks, records = snapshot.services, snapshot.tasks, snapshot.records
    tasks_of: dict[str, list[dict]] = {}
    for task in tasks:
        tasks_of.setdefault(task["ServiceID"], []).append(task)
    record_of = {record["Spec"]["Labels"].get(RECORD_OF): record for record in records}
    stale_claims = [claim for claim in snapshot.claims if is_stale(claim, now)]
    result = Plan([], [], [], [], [], stale_claims)
    for service in services:
        try:
            job_tasks = tasks_of.get(service["ID"], [])
            status = job_status(service, job_tasks, snapshot.down_nodes)
            result.statuses[service["ID"]] = status
            keep = min(int(service["Spec"].get("Labels", {}).get(job_labels.TTL, default_ttl)),
                       keep_finished)  # fmt: skip
            _plan_job(result, service, status, job_tasks, record_of, now, keep)
        except (KeyError, ValueError, TypeError):
            result.unreadable.append(service)  # labels edited by hand: leave that job alone
    known = {service["ID"] for service in services}
    result.orphan_records.extend(r for key, r in record_of.items() if key not in known)
    return result


def _plan_job(
    result: Plan,
    service: dict,
    status: JobStatus,
    tasks: list[dict],
    record_of: Mapping[str, dict],
    now: float,
    keep: int,
) -> None:
    service_labels = service["Spec"].get("Labels", {})
    record = record_of.get(service["ID"])
    if status.status == STARTED and _ran_too_long(service_labels, tasks, now):
        result.time_out.append(service)
    if not status.is_final:
        return
    callback_pending = job_labels.CALLBACK_URL in service_labels and not _settled(record)
    if callback_pending and _due(record, now):
        result.notify.append(Notice(status, service_labels[job_labels.CALLBACK_URL], record))
    finished_at = status.finished_at  # set on every final status
    if not callback_pending and finished_at and epoch_of(finished_at) + keep <= now:
        result.expire.append(service)


def _ran_too_long(service_labels: dict, tasks: list[dict], now: float) -> bool:
    if job_labels.TIMEOUT not in service_labels or job_labels.TIMED_OUT in service_labels:
        return False
    timeout = int(service_labels[job_labels.TIMEOUT])
    running_since = [
        epoch_of(task["Status"]["Timestamp"])
        for task in tasks
        if task["Status"]["State"] == "running"
    ]
    return any(now - since > timeout for since in running_since)


def _settled(record: dict | None) -> bool:
    return record is not None and record["Spec"]["Labels"].get(STATE) in SETTLED


def _due(record: dict | None, now: float) -> bool:
    if record is None:
        return True
    record_labels = record["Spec"]["Labels"]
    if record_labels.get(STATE) == "delivering":
        return float(record_labels.get(LEASE_UNTIL, 0)) <= now  # its deliverer died
    return float(record_labels.get(NEXT_AT, 0)) <= now


class Reaping:
    """The Docker calls behind the plan. Each returns False when another reaper got there first."""

    def __init__(self, connection: DockerConnection, deployment: str):
        self._docker = connection
        self._deployment = deployment

    def snapshot(self) -> Snapshot:
        """This deployment's jobs (services, tasks), callback records, claims and logs set aside:
        three calls (a fourth for the nodes, when a run may be stranded on a node that went
        down)."""
        job_filter = {"label": job_labels.job_filter(self._deployment)}
        engine = self._docker.engine
        services = engine.services(filters=job_filter)
        tasks = engine.tasks(filters=job_filter)
        configs = self._configs()
        records, claims, kept_logs = _kept(configs)
        down_nodes = down_nodes_among(engine, tasks)
        payloads = [config for config in configs if is_payload(config)]
        return Snapshot(services, tasks, records, claims, kept_logs, down_nodes, payloads)

    def quick_snapshot(
        self, changed: Iterable[str], removed: Iterable[str] = (), scan_placed: bool = True
    ) -> tuple[Snapshot, set[str]]:
        """A snapshot of only the jobs that may need something done: those with a task placed
        on a node, those whose service `changed` names (Docker's events: made or changed), and
        those a callback record or a log set aside is of; and the ids it looked at (the jobs
        of those ids it does not hold are gone), the `removed` services' among them (not asked
        for: any service's removal is heard, most are not this deployment's jobs). A job
        waiting for a node, that no event named, is not read: the cost is that of the jobs
        placed or changed, whatever the number of those waiting. Five calls and a few more per
        JOBS_PER_CALL jobs looked at (one more for the nodes, when a run may be stranded on a
        node that went down).

        Without `scan_placed`, the tasks placed on nodes are not asked for: swarm finds them
        by walking every task (Docker's own filter on the task's runtime takes precedence over
        the node's index), those waiting included, so the caller does it only every so often
        and names the jobs it knows to be placed in `changed` meanwhile."""
        engine = self._docker.engine
        placed: list[dict] = []
        if scan_placed:
            nodes, placed = placed_job_tasks(engine, job_labels.job_filter(self._deployment))
            kept_nodes.keep(NodesReading(summarize_nodes(nodes, placed), time.time()))
        records, claims, kept_logs = _kept(self._configs())
        wanted = {task["ServiceID"] for task in placed} | set(changed)
        wanted |= {record["Spec"]["Labels"][RECORD_OF] for record in records}
        wanted |= {kept_log["Spec"]["Labels"][LOG_OF] for kept_log in kept_logs}
        found = _in_batches(lambda ids: engine.services(filters={"id": ids}), sorted(wanted))
        found = [service for service in found if service["ID"] in wanted]  # ids: prefixes
        # Another deployment's service (an event names any service) is not looked at; an id
        # not found is a service removed.
        services = [service for service in found if job_labels.is_job(service, self._deployment)]
        found_ids = {service["ID"] for service in found}
        looked_at = ((wanted | set(removed)) - found_ids) | {s["ID"] for s in services}
        services, tasks = _with_their_tasks(engine, services)
        down_nodes = down_nodes_among(engine, tasks)
        return Snapshot(services, tasks, records, claims, kept_logs, down_nodes), looked_at

    def _configs(self) -> list[dict]:
        """This deployment's configs: callback records, Idempotency-Key claims, logs set aside
        and payloads."""
        return [
            config
            for config in self._docker.engine.configs(filters={"name": CONFIG_PREFIX})
            if job_labels.is_kept_for(config, self._deployment)
        ]

    def time_out(self, service: dict, now: float) -> bool:
        """Stop the job's runs and mark it timed out, in one update of its service."""
        new_spec = halted_spec(service["Spec"], job_labels.TIMED_OUT, now)
        return self._quietly(
            lambda engine: engine.update_service(service["ID"], _version(service), new_spec)
        )

    def node_names(self) -> dict[str, str]:
        """Each node's hostname, by its id: one call."""
        return {
            node["ID"]: node.get("Description", {}).get("Hostname", "")
            for node in self._docker.engine.nodes()
        }

    def service_exists(self, service_id: str) -> bool:
        try:
            self._docker.engine.inspect_service(service_id)
        except JobNotFound:
            return False
        return True

    def expire(self, service: dict) -> bool:
        return self._quietly(lambda engine: remove_job_service(engine, service))

    def remove_config(self, config: dict) -> bool:
        """Remove a callback record, a claim or a log set aside (by id: one that replaced it
        stays)."""
        return self._quietly(lambda engine: engine.remove_config(config["ID"]))

    def claim_callback(self, service_id: str, record: dict | None, now: float) -> dict | None:
        """Take the job's callback for LEASE_SECONDS; the claimed record, or None if lost."""
        lease = {STATE: "delivering", LEASE_UNTIL: f"{now + LEASE_SECONDS:.3f}"}
        if record is None:
            record_labels = {
                job_labels.JOB: job_labels.job_mark(self._deployment),
                RECORD_OF: service_id,
                ATTEMPTS: "0",
                FIRST_AT: f"{now:.3f}",
                **lease,
            }
            # Config names are unique in the swarm: of racing reapers, one creates it.
            claimed = self._quietly(
                lambda engine: engine.create_config(RECORD_PREFIX + service_id, record_labels)
            )
        else:
            claimed = self._update_record(record, lease)
        if not claimed:
            return None
        return self._docker.engine.inspect_config(RECORD_PREFIX + service_id)

    def settle_callback(
        self, record: dict, delivered: bool, now: float, retry_seconds: int
    ) -> str | None:
        """Record the attempt: delivered, retrying later with backoff, or failed for good; the
        state recorded. None if the record changed since it was claimed (its lease ran out and
        another reaper claimed it): that reaper's record stands."""
        record_labels = record["Spec"]["Labels"]
        attempts = int(record_labels.get(ATTEMPTS, 0)) + 1
        first_at = float(record_labels.get(FIRST_AT, now))
        if delivered:
            change = {STATE: "delivered"}
        elif now - first_at >= retry_seconds:
            change = {STATE: "failed"}
        else:
            backoff = min(2**attempts, MAX_BACKOFF_SECONDS)
            change = {STATE: "retrying", NEXT_AT: f"{now + backoff:.3f}"}
        change[ATTEMPTS] = str(attempts)
        return change[STATE] if self._update_record(record, change) else None

    def _update_record(self, record: dict, change: dict) -> bool:
        """Change the record's labels, if no one changed it since it was read."""
        spec = record["Spec"]
        new_spec = {**spec, "Labels": {**spec["Labels"], **change}}
        return self._quietly(
            lambda engine: engine.update_config(record["ID"], _version(record), new_spec)
        )

    def _quietly(self, call: Callable[[EngineClient], object]) -> bool:
        """Make the call; a conflict or a vanished object means another reaper got there first."""
        try:
            call(self._docker.engine)
            return True
        except SWARM_CALL_ERRORS as error:
            log.info("reaper: lost a race or the object is gone: %s", error)
            return False


def _with_their_tasks(engine: EngineClient, services: list[dict]) -> tuple[list[dict], list[dict]]:
    """The services still there and their tasks. Docker refuses a task listing naming a service
    removed since it was listed (another reaper's expiry, a /stop): the services are then asked
    for again, and the tasks of those left; a service gone is as one never found."""
    for _ in range(3):
        try:
            ids = [service["ID"] for service in services]
            return services, _in_batches(
                lambda batch: engine.tasks(filters={"service": batch}), ids
            )
        except JobNotFound:
            still = _in_batches(lambda batch: engine.services(filters={"id": batch}), ids)
            there = {service["ID"] for service in still}
            services = [service for service in services if service["ID"] in there]
    raise JobNotFound("services kept vanishing while their tasks were asked for")


def _in_batches(call: Callable[[list[str]], list], ids: list[str]) -> list:
    """`call` for the ids, JOBS_PER_CALL at a time (each id is a filter in the call's URL)."""
    answers: list = []
    for start in range(0, len(ids), JOBS_PER_CALL):
        answers.extend(call(ids[start : start + JOBS_PER_CALL]))
    return answers


def _version(swarm_object: dict) -> int:
    """The version a change is made against: refused if the object changed since."""
    return swarm_object["Version"]["Index"]


def _kept(configs: list[dict]) -> tuple[list[dict], list[dict], list[dict]]:
    """The callback records, Idempotency-Key claims and logs set aside among `configs`."""
    records = [config for config in configs if RECORD_OF in config["Spec"].get("Labels", {})]
    claims = [config for config in configs if CLAIM_OF in config["Spec"].get("Labels", {})]
    kept_logs = [config for config in configs if LOG_OF in config["Spec"].get("Labels", {})]
    return records, claims, kept_logs
