"""/nodes on the swarm runtime: what jobs reserve on each node, read from the tasks placed on
nodes only, so the tasks of jobs waiting for a node (parked: a constraint no node meets), however
many, are neither sent nor decoded (on the lab: tests/lab/test_nodes_ready.py)."""

from quartermaster.jobs import labels
from quartermaster.jobs.nodes import NodeSummary
from quartermaster.swarm.nodes import summarize_nodes
from quartermaster.swarm.runtime import Swarm
from support.fake_engine import FakeConnection, FakeEngine, job, node, task
from support.settings import make_config


def swarm_on(engine: FakeEngine) -> Swarm:
    swarm = Swarm(make_config())
    swarm._docker = FakeConnection(engine)  # type: ignore[assignment]
    return swarm


def a_swarm_with_parked_jobs(parked: int) -> FakeEngine:
    nodes = [node("manager", "manager"), node("w1"), node("w2")]
    services = [job("running-1"), job("running-2"), job("done"), job("elsewhere", "other")]
    tasks = [
        task("running-1", "running", "w1"),
        task("running-2", "running", "w1", memory_gib=2),
        task("done", "complete", "w2"),
        task("elsewhere", "running", "w2"),  # another deployment's job
    ]
    for n in range(parked):
        services.append(job(f"parked-{n}"))
        tasks.append(task(f"parked-{n}", "pending", None))
    return FakeEngine(nodes, services, tasks)


def test_nodes_read_only_the_tasks_placed_on_nodes():
    engine = a_swarm_with_parked_jobs(parked=1000)
    summaries = {summary.id: summary for summary in swarm_on(engine).nodes()}
    assert engine.objects_read["tasks"] == 4  # of 1,004: none of the parked jobs' tasks
    assert (summaries["w1"].reserved_memory_mb, summaries["w1"].running_jobs) == (3 * 1024, 2)
    assert (summaries["w2"].reserved_memory_mb, summaries["w2"].running_jobs) == (0, 0)
    assert summaries["w1"].free_cpus == 3.0


def test_nodes_are_what_every_job_task_sums_to():
    """The document is the one summing every job task of the deployment would give."""
    engine = a_swarm_with_parked_jobs(parked=3)
    every_task = engine.tasks(filters={"label": labels.job_filter("")})
    assert swarm_on(engine).nodes() == summarize_nodes(engine.node_list, every_task)


def test_a_node_removed_between_the_calls_is_asked_again():
    engine = a_swarm_with_parked_jobs(parked=3)
    listed = engine.nodes

    def nodes_then_one_leaves(filters=None):
        answer = listed(filters)
        if len(engine.node_list) == 3:
            engine.node_list = engine.node_list[:-1]  # gone before the tasks are asked for
        return answer

    engine.nodes = nodes_then_one_leaves  # type: ignore[method-assign]
    summaries = swarm_on(engine).nodes()
    assert [summary.id for summary in summaries] == ["manager", "w1"]  # the second listing's
    assert [name for name, _ in engine.calls] == ["nodes", "tasks", "nodes", "tasks"]


def test_each_node_sums_only_its_own_tasks():
    nodes = [node("a"), node("b")]
    tasks = [task("j1", "running", "a"), task("j2", "running", "b", 3), task("j3", "failed", "a")]
    summaries = summarize_nodes(nodes, tasks)
    assert [(s.id, s.reserved_memory_mb, s.running_jobs) for s in summaries] == [
        ("a", 1024, 1),
        ("b", 3 * 1024, 1),
    ]
    assert all(isinstance(summary, NodeSummary) for summary in summaries)
