"""Nodes as a client sees them: capacity, what jobs reserve on them, what is free; and which
nodes stopped answering, when a job's run may be stranded on one."""

from quartermaster.jobs.constraints import node_matches
from quartermaster.jobs.errors import JobNotFound
from quartermaster.jobs.fair_share import NodeRoom, SwarmRoom
from quartermaster.jobs.nodes import NodeSummary
from quartermaster.jobs.times import NANO
from quartermaster.swarm.engine import EngineClient
from quartermaster.swarm.status import may_be_stranded

NOT_A_MANAGER = "this Docker host is not a swarm manager"
MIB = 1024 * 1024
# Task states in which a task holds its reservation on a node.
HOLDING_STATES = frozenset({"assigned", "accepted", "preparing", "ready", "starting", "running"})


def summarize_nodes(nodes: list[dict], job_tasks: list[dict]) -> list[NodeSummary]:
    """Every node, with the reservations of the job tasks placed on it."""
    tasks_on: dict[str, list[dict]] = {}
    for task in job_tasks:
        tasks_on.setdefault(task.get("NodeID", ""), []).append(task)
    return [_summary(node, tasks_on.get(node["ID"], [])) for node in nodes]


def swarm_room(nodes: list[dict], job_tasks: list[dict]) -> SwarmRoom:
    """What admission reads of the swarm: each node with what it has free (as /nodes says),
    and the jobs with a run holding its reservation on one."""
    rooms = tuple(
        NodeRoom(node, summary.memory_mb, summary.cpus, summary.free_memory_mb, summary.free_cpus)
        for node, summary in zip(nodes, summarize_nodes(nodes, job_tasks), strict=True)
    )
    placed = frozenset(
        task["ServiceID"] for task in job_tasks if task["Status"]["State"] in HOLDING_STATES
    )
    return SwarmRoom(rooms, placed)


def placed_job_tasks(engine: EngineClient, job_filter: str) -> tuple[list[dict], list[dict]]:
    """Every node, and the job tasks placed on one: two calls. Docker answers a listing by node
    with the tasks placed on those nodes only, so the jobs that cannot be placed (a constraint
    no node meets) are neither sent nor decoded; swarm still walks every task to find them
    (Docker adds a filter on the task's runtime, whose index swarm prefers to the node's), about
    14 us of dockerd's CPU a task (docs/performance.md). A node removed between the calls makes
    Docker refuse the second: asked again once, then by the jobs' label alone."""
    for _ in range(2):
        nodes = engine.nodes()
        if not nodes:
            return [], []
        try:
            node_ids = [node["ID"] for node in nodes]
            return nodes, engine.tasks(filters={"node": node_ids, "label": job_filter})
        except JobNotFound:
            continue
    tasks = engine.tasks(filters={"label": job_filter})
    return nodes, [task for task in tasks if task.get("NodeID")]


def _summary(node: dict, tasks: list[dict]) -> NodeSummary:
    holding = [task for task in tasks if task["Status"]["State"] in HOLDING_STATES]
    reservations = [task["Spec"].get("Resources", {}).get("Reservations", {}) for task in holding]
    reserved_memory = sum(r.get("MemoryBytes", 0) for r in reservations)
    reserved_cpus = sum(r.get("NanoCPUs", 0) for r in reservations)
    resources = node.get("Description", {}).get("Resources", {})
    memory = resources.get("MemoryBytes", 0)
    cpus = resources.get("NanoCPUs", 0)
    return NodeSummary(
        id=node["ID"],
        hostname=node.get("Description", {}).get("Hostname", ""),
        role=node["Spec"]["Role"],
        state=node["Status"]["State"],
        availability=node["Spec"].get("Availability", "active"),
        memory_mb=memory // MIB,
        cpus=cpus / NANO,
        reserved_memory_mb=reserved_memory // MIB,
        reserved_cpus=reserved_cpus / NANO,
        free_memory_mb=max(memory - reserved_memory, 0) // MIB,
        free_cpus=max(cpus - reserved_cpus, 0) / NANO,
        running_jobs=sum(1 for task in holding if task["Status"]["State"] == "running"),
    )


def readiness_problem(info: dict, nodes: list[dict], constraints: tuple[str, ...]) -> str | None:
    """Why this swarm cannot take jobs now, or None when it can."""
    if not info.get("Swarm", {}).get("ControlAvailable"):
        return NOT_A_MANAGER
    eligible = [
        node
        for node in nodes
        if node["Status"]["State"] == "ready"
        and node["Spec"].get("Availability") == "active"
        and node_matches(node, constraints)
    ]
    if not eligible:
        return f"no ready, active node matches the placement constraints {list(constraints)}"
    return None


def down_nodes_among(engine: EngineClient, tasks: list[dict]) -> dict[str, str]:
    """The nodes (id: hostname) not answering the swarm, if some run may be stranded on one.

    One call, and only then: in the usual case, none.
    """
    if not any(may_be_stranded(task) for task in tasks):
        return {}
    nodes = engine.nodes()
    return {
        node["ID"]: node.get("Description", {}).get("Hostname") or node["ID"]
        for node in nodes
        if node["Status"]["State"] != "ready"
    }
