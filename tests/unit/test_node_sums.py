"""/nodes on the swarm runtime: what jobs reserve on each node, read from the tasks placed on
nodes only, so the tasks of jobs waiting for a node (parked: a constraint no node meets), however
many, are neither sent nor decoded (on the lab: tests/lab/test_nodes_ready.py); and that reading
kept for an instance's processes for a reaper round (swarm/kept_nodes.py)."""

import time

import pytest

from quartermaster.jobs import labels
from quartermaster.jobs.nodes import NodeSummary
from quartermaster.process.metrics_directory import NODES_FILE
from quartermaster.process.metrics_directory import VARIABLE as DIRECTORY_VARIABLE
from quartermaster.swarm import kept_nodes
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
    summaries = {summary.id: summary for summary in swarm_on(engine).nodes().nodes}
    assert engine.objects_read["tasks"] == 4  # of 1,004: none of the parked jobs' tasks
    assert (summaries["w1"].reserved_memory_mb, summaries["w1"].running_jobs) == (3 * 1024, 2)
    assert (summaries["w2"].reserved_memory_mb, summaries["w2"].running_jobs) == (0, 0)
    assert summaries["w1"].free_cpus == 3.0


def test_nodes_are_what_every_job_task_sums_to():
    """The document is the one summing every job task of the deployment would give."""
    engine = a_swarm_with_parked_jobs(parked=3)
    every_task = engine.tasks(filters={"label": labels.job_filter("")})
    assert swarm_on(engine).nodes().nodes == summarize_nodes(engine.node_list, every_task)


def test_a_node_removed_between_the_calls_is_asked_again():
    engine = a_swarm_with_parked_jobs(parked=3)
    listed = engine.nodes

    def nodes_then_one_leaves(filters=None):
        answer = listed(filters)
        if len(engine.node_list) == 3:
            engine.node_list = engine.node_list[:-1]  # gone before the tasks are asked for
        return answer

    engine.nodes = nodes_then_one_leaves  # type: ignore[method-assign]
    summaries = swarm_on(engine).nodes().nodes
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


@pytest.fixture
def instance_directory(tmp_path, monkeypatch):
    """The directory an instance's processes share (the `quartermaster` command makes one)."""
    monkeypatch.setenv(DIRECTORY_VARIABLE, str(tmp_path))
    return tmp_path


def test_a_reading_at_most_a_round_old_is_answered_without_asking_the_swarm(instance_directory):
    engine = a_swarm_with_parked_jobs(parked=3)
    first = swarm_on(engine).nodes()
    engine.calls.clear()
    again = swarm_on(engine).nodes()  # another worker of the instance
    assert engine.calls == []
    assert again == first


def test_a_reading_older_than_a_round_is_made_again(instance_directory):
    engine = a_swarm_with_parked_jobs(parked=3)
    swarm = Swarm(make_config(reaper_interval=0.5))
    swarm._docker = FakeConnection(engine)  # type: ignore[assignment]
    first = swarm.nodes()
    engine.task_list.append(task("parked-0", "running", "w2"))  # placed since
    time.sleep(0.6)
    engine.calls.clear()
    again = swarm.nodes()
    assert [name for name, _ in engine.calls] == ["nodes", "tasks"]
    assert again.as_of > first.as_of
    assert {s.id: s.running_jobs for s in again.nodes}["w2"] == 1


def test_the_reapers_scan_of_placed_tasks_is_the_reading_nodes_answers(instance_directory):
    engine = a_swarm_with_parked_jobs(parked=3)
    swarm = swarm_on(engine)
    swarm.reaping.quick_snapshot(changed=(), scan_placed=True)
    engine.calls.clear()
    reading = swarm.nodes()
    assert engine.calls == []
    every_task = engine.tasks(filters={"label": labels.job_filter("")})
    assert reading.nodes == summarize_nodes(engine.node_list, every_task)


def test_a_kept_reading_that_cannot_be_read_is_made_again(instance_directory):
    engine = a_swarm_with_parked_jobs(parked=3)
    (instance_directory / NODES_FILE).write_text('{"as_of": 1e12, "nodes": [{"id": "w9"}]}')
    reading = swarm_on(engine).nodes()
    assert [summary.id for summary in reading.nodes] == ["manager", "w1", "w2"]
    assert kept_nodes.kept_since(0) == reading  # and kept in its place


def test_without_an_instance_directory_nothing_is_kept(monkeypatch):
    monkeypatch.delenv(DIRECTORY_VARIABLE, raising=False)
    engine = a_swarm_with_parked_jobs(parked=3)
    swarm_on(engine).nodes()
    engine.calls.clear()
    swarm_on(engine).nodes()
    assert [name for name, _ in engine.calls] == ["nodes", "tasks"]


def test_a_reading_that_cannot_be_kept_leaves_nothing_behind(instance_directory):
    engine = a_swarm_with_parked_jobs(parked=3)
    (instance_directory / NODES_FILE).mkdir()  # in the way: os.replace cannot put the file there
    assert [summary.id for summary in swarm_on(engine).nodes().nodes] == ["manager", "w1", "w2"]
    assert [path.name for path in instance_directory.iterdir()] == [NODES_FILE]
