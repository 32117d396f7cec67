"""The swarm's nodes as a client sees them: capacity, reservations, health."""

from dataclasses import dataclass


@dataclass(frozen=True)
class NodeSummary:
    id: str
    hostname: str
    role: str
    state: str
    availability: str
    memory_mb: int
    cpus: float
    reserved_memory_mb: int
    reserved_cpus: float
    free_memory_mb: int
    free_cpus: float
    running_jobs: int


@dataclass(frozen=True)
class SwarmHealth:
    managers: int
    workers: int
    ready_workers: int
