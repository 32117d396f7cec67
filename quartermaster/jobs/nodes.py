"""The swarm's nodes as a client sees them: capacity, reservations, health.

Their fields are the documents' (/nodes, /healthz's `swarm`), in their order: the answers'
schemas are derived from them (web/schemas/documents.py).
"""

from dataclasses import dataclass, field


@dataclass(frozen=True)
class NodeSummary:
    id: str
    hostname: str
    role: str
    state: str
    availability: str
    memory_mb: int
    cpus: float
    reserved_memory_mb: int = field(metadata={"description": "reserved by jobs placed here"})
    reserved_cpus: float
    free_memory_mb: int
    free_cpus: float
    running_jobs: int


@dataclass(frozen=True)
class NodesReading:
    """Every node as the swarm showed it at `as_of` (epoch seconds)."""

    nodes: list[NodeSummary]
    as_of: float


@dataclass(frozen=True)
class SwarmHealth:
    managers: int
    workers: int
    ready_workers: int
