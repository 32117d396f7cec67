"""Swarm rooms for admission's tests (jobs/fair_share.py's SwarmRoom), without a swarm."""

from quartermaster.jobs.fair_share import NodeRoom, SwarmRoom


def node(
    name: str,
    memory_mb: int = 1024,
    cpus: float = 2.0,
    free_memory_mb: int | None = None,
    free_cpus: float | None = None,
    role: str = "worker",
    state: str = "ready",
    labels: dict[str, str] | None = None,
) -> NodeRoom:
    """A node as Docker reports it, with what it has and what it has free (all, by default)."""
    document = {
        "ID": f"id-{name}",
        "Spec": {"Role": role, "Availability": "active", "Labels": labels or {}},
        "Status": {"State": state, "Addr": "10.99.0.2"},
        "Description": {"Hostname": name, "Platform": {"OS": "linux", "Architecture": "x86_64"}},
    }
    return NodeRoom(
        document,
        memory_mb,
        cpus,
        memory_mb if free_memory_mb is None else free_memory_mb,
        cpus if free_cpus is None else free_cpus,
    )


def swarm(*nodes: NodeRoom, placed: frozenset[str] = frozenset()) -> SwarmRoom:
    return SwarmRoom(tuple(nodes), placed)


# Room for any test's jobs: one node far larger than they ask.
ROOMY = swarm(node("roomy", memory_mb=1 << 30, cpus=1024.0))
