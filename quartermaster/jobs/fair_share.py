"""Fair share of a full swarm: which queued jobs to hand to swarm now, and in what order. Pure:
the store reads the queues and decides under its lock (store/admission.py), the swarm reports
its room (swarm/nodes.py); swarm still picks each run's node.

With tenants defined, every job is admitted here before it runs. A pass admits, one job at a
time, from the queue of the least-served tenant: the one whose dominant share (its live jobs'
memory or cpus, whichever is the larger part of the swarm's) per unit of `weight` is the
smallest (ties: the oldest job first). The operator's jobs are a tenant of their own, of weight
OPERATOR_WEIGHT. Within a tenant, first come, first admitted, as far as its quota goes: a job
its quota cannot take now ends its tenant's turn (the quota's head is never passed).

A job must also fit the swarm's room now: each of its runs at once on a ready, active node its
constraints allow, with the memory and cpus the node has free (as /nodes reports them, less what
jobs admitted and not yet placed will take). One that does not fit waits (ROOM). Head-of-line
blocking: a job that does not fit is passed over, and the jobs behind it (its own tenant's and
the others') that fit are admitted, so one large job never idles the swarm. So that a large job
is not passed over for ever, once the job whose turn it is has waited ROOM_PATIENCE_SECONDS,
the pass stops there: nothing more is admitted until room for it frees.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from quartermaster.jobs.constraints import node_matches
from quartermaster.jobs.tenancy import (
    CPU_SLACK,
    NOTHING,
    Footprint,
    TenantQuota,
    runs_at_once,
    waiting_reason,
)
from quartermaster.jobs.times import NANO

ROOM = "waiting for room on the swarm"
OPERATOR_WEIGHT = 1
# How long the job whose turn it is may be passed over by jobs that fit when it does not.
ROOM_PATIENCE_SECONDS = 300


def queue_owner(tenant: str | None) -> str:
    """A queue's owner in metrics and logs: its tenant's name, or the operator."""
    return "operator" if tenant is None else tenant


@dataclass(frozen=True)
class NodeRoom:
    """A node as admission sees it: Docker's document (constraints are matched against it), its
    capacity and what jobs placed on it leave free."""

    node: Mapping[str, Any]
    memory_mb: int
    cpus: float
    free_memory_mb: int
    free_cpus: float

    @property
    def takes_jobs(self) -> bool:
        return (
            self.node.get("Status", {}).get("State") == "ready"
            and self.node.get("Spec", {}).get("Availability", "active") == "active"
        )


@dataclass(frozen=True)
class SwarmRoom:
    """The swarm's nodes, and the jobs with a run holding its reservation on one (placed):
    a job admitted and not among them will take room the nodes do not show taken yet."""

    nodes: tuple[NodeRoom, ...]
    placed: frozenset[str] = frozenset()

    @property
    def free(self) -> tuple:
        """What the nodes have free and which jobs are placed: what admission depends on."""
        nodes = tuple(
            (node.node.get("ID"), node.takes_jobs, node.free_memory_mb, node.free_cpus)
            for node in self.nodes
        )
        return nodes, self.placed


@dataclass(frozen=True)
class QueuedJob:
    """A job waiting for admission (or admitted and not placed yet), as its record keeps it."""

    id: str
    tenant: str | None
    created_at: int  # nanoseconds since the epoch: its place in its tenant's queue
    memory_mb: int  # a run's
    cpus: float  # a run's
    runs: int  # at once
    constraints: tuple[str, ...] = ()

    @classmethod
    def of_request(
        cls, job_id: str, tenant: str | None, created_at: int, request: Mapping[str, Any]
    ) -> "QueuedJob":
        return cls(
            job_id,
            tenant,
            created_at,
            request.get("memory_mb") or 0,
            request.get("cpus") or 0.0,
            runs_at_once(request),
            tuple(request.get("constraints") or ()),
        )

    @property
    def footprint(self) -> Footprint:
        return Footprint(self.memory_mb * self.runs, self.cpus * self.runs)


@dataclass
class TenantQueue:
    """One tenant's queue, from its head, and what its live jobs hold now."""

    tenant: str | None  # None: the operator's jobs
    quota: TenantQuota
    weight: int
    live: Footprint = NOTHING
    jobs: list[QueuedJob] = field(default_factory=list)


class Room:
    """What the swarm's ready, active nodes have free, as jobs are admitted in a pass: each run
    taken from the matching node with the most memory free (swarm spreads runs; this only
    decides whether they fit)."""

    def __init__(self, swarm: SwarmRoom):
        self._nodes = [node for node in swarm.nodes if node.takes_jobs]
        self._free = [[node.free_memory_mb, node.free_cpus] for node in self._nodes]
        self.memory_mb = sum(node.memory_mb for node in self._nodes)
        self.cpus = sum(node.cpus for node in self._nodes)

    def take(self, job: QueuedJob) -> bool:
        """Take room for each of the job's runs, if all fit now; else take none."""
        taken: list[int] = []
        for _ in range(job.runs):
            fitting = [
                index
                for index, node in enumerate(self._nodes)
                if self._free[index][0] >= job.memory_mb
                and self._free[index][1] + CPU_SLACK >= job.cpus
                and node_matches(node.node, job.constraints)
            ]
            if not fitting:
                for index in taken:
                    self._free[index][0] += job.memory_mb
                    self._free[index][1] += job.cpus
                return False
            index = max(fitting, key=lambda index: tuple(self._free[index]))
            self._free[index][0] -= job.memory_mb
            self._free[index][1] -= job.cpus
            taken.append(index)
        return True

    def share(self, held: Footprint) -> float:
        """The larger of the parts of the swarm's memory and cpus `held` is."""
        memory = held.memory / self.memory_mb if self.memory_mb else 0.0
        cpus = held.cpus / self.cpus if self.cpus else 0.0
        return max(memory, cpus)


def admissions(
    queues: Iterable[TenantQueue],
    swarm: SwarmRoom,
    unplaced: Iterable[QueuedJob],
    now: float,
) -> list[QueuedJob]:
    """The queued jobs to admit now, in their order (see the module's docstring). `unplaced`:
    the jobs admitted whose runs are not on a node yet; their room is taken first."""
    room = Room(swarm)
    for starting in unplaced:
        room.take(starting)
    turns = [replace(queue, jobs=list(queue.jobs)) for queue in queues if queue.jobs]

    def least_served_first(queue: TenantQueue) -> tuple[float, int]:
        return room.share(queue.live) / queue.weight, queue.jobs[0].created_at

    admitted: list[QueuedJob] = []
    while turns:
        queue = min(turns, key=least_served_first)
        job = _next_of(queue, room, now)
        if job is _HOLD:
            break
        if job is not None:
            queue.jobs.remove(job)
            queue.live = queue.live + job.footprint
            admitted.append(job)
        if job is None or not queue.jobs:
            turns.remove(queue)
    return admitted


_HOLD = QueuedJob("", None, 0, 0, 0.0, 0)


def _next_of(queue: TenantQueue, room: Room, now: float) -> QueuedJob | None:
    """The job of `queue` to admit now (its room taken), None when none is (its turn is over),
    or _HOLD when its first job has waited its patience for room (the pass stops)."""
    for position, job in enumerate(queue.jobs):
        if waiting_reason(queue.tenant or "", queue.quota, queue.live, job.footprint):
            return None  # its quota's head is never passed
        if room.take(job):
            return job
        if position == 0 and now - job.created_at / NANO >= ROOM_PATIENCE_SECONDS:
            return _HOLD
    return None


def never_fits(job: QueuedJob, nodes: Iterable[NodeRoom]) -> dict[str, list[str]]:
    """Why a run of `job` could never be placed, even on an empty swarm: the fields at fault
    (refused at /run rather than queued for ever); empty when some node, whatever its state
    now, could take it."""
    nodes = list(nodes)
    allowed = [node for node in nodes if node_matches(node.node, job.constraints)]
    if not allowed:
        return {"constraints": ["no node of the swarm matches them: the job could never run"]}
    if any(job.memory_mb <= node.memory_mb and job.cpus <= node.cpus for node in allowed):
        return {}
    breaches: dict[str, list[str]] = {}
    largest_memory = max(node.memory_mb for node in allowed)
    if job.memory_mb > largest_memory:
        breaches["memory"] = [
            f"{job.memory_mb} MB is more than any node its constraints allow has "
            f"({largest_memory} MB): the job could never run"
        ]
    largest_cpus = max(node.cpus for node in allowed)
    if job.cpus > largest_cpus:
        breaches["cpus"] = [
            f"{job.cpus:g} is more than any node its constraints allow has "
            f"({largest_cpus:g}): the job could never run"
        ]
    return breaches or {
        "memory": ["no node its constraints allow has both this memory and these cpus"]
    }
