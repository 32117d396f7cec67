"""The reaper's quick rounds read only the jobs that may need something done: placed on a node,
named by a service event, or with a callback record or a log set aside; never the jobs parked
waiting for a node (on the lab: tests/lab/test_reaper_quick_rounds.py)."""

from quartermaster.jobs import labels
from quartermaster.reaper.reaper import FEW_WAITING, PLACED_SCAN_ROUNDS, scans_placed
from quartermaster.swarm.kept_logs import LOG_OF
from quartermaster.swarm.reaping import RECORD_OF, Reaping
from support.fake_engine import FakeConnection, FakeEngine, job, node, task

DEPLOYMENT = "staging"


def config(name: str, **config_labels: str) -> dict:
    return {
        "ID": f"config-{name}",
        "Spec": {
            "Name": name,
            "Labels": {labels.JOB: labels.job_mark(DEPLOYMENT), **config_labels},
        },
    }


def a_swarm(parked: int) -> FakeEngine:
    nodes = [node("manager", "manager"), node("w1")]
    services = [
        job("running", DEPLOYMENT),
        job("done-with-callback", DEPLOYMENT),
        job("halted-with-log", DEPLOYMENT),
        job("elsewhere", "production"),
    ]
    tasks = [
        task("running", "running", "w1"),
        task("done-with-callback", "complete", "w1"),
        task("halted-with-log", "shutdown", None),
        task("elsewhere", "running", "w1"),
    ]
    for n in range(parked):
        services.append(job(f"parked-{n}", DEPLOYMENT))
        tasks.append(task(f"parked-{n}", "pending", None))
    configs = [
        config("quartermaster-callback-done-with-callback", **{RECORD_OF: "done-with-callback"}),
        config("quartermaster-log-halted-with-log", **{LOG_OF: "halted-with-log"}),
    ]
    return FakeEngine(nodes, services, tasks, configs)


def quick_snapshot(
    engine: FakeEngine, changed: set[str], removed: set[str] = frozenset(), scan_placed=True
):
    reaping = Reaping(FakeConnection(engine), DEPLOYMENT)  # type: ignore[arg-type]
    return reaping.quick_snapshot(changed, removed, scan_placed)


def test_a_quick_round_reads_the_same_whatever_the_number_of_parked_jobs():
    few, many = a_swarm(parked=0), a_swarm(parked=1000)
    quick_snapshot(few, set())
    quick_snapshot(many, set())
    assert many.objects_read == few.objects_read
    assert many.objects_read["tasks"] + many.objects_read["services"] < 10


def test_a_quick_round_looks_at_placed_jobs_changed_ones_and_those_configs_are_of():
    engine = a_swarm(parked=5)
    snapshot, looked_at = quick_snapshot(
        engine, {"parked-3", "removed-meanwhile", "elsewhere"}, {"removed-and-heard"}
    )
    services = sorted(service["ID"] for service in snapshot.services)
    assert services == ["done-with-callback", "halted-with-log", "parked-3", "running"]
    # A removed service's id is looked at (its record: the job is gone); another deployment's
    # service, named by an event, is not.
    assert looked_at == {*services, "removed-meanwhile", "removed-and-heard"}
    asked_for = [filters["id"] for name, filters in engine.calls if name == "services"]
    assert "removed-and-heard" not in str(asked_for)  # its removal was heard: not asked for
    assert sorted(t["ServiceID"] for t in snapshot.tasks) == services  # every task of each
    assert [record["ID"] for record in snapshot.records] == [
        "config-quartermaster-callback-done-with-callback"
    ]
    assert len(snapshot.kept_logs) == 1


def test_a_full_snapshot_reads_every_job():
    engine = a_swarm(parked=5)
    snapshot = Reaping(FakeConnection(engine), DEPLOYMENT).snapshot()  # type: ignore[arg-type]
    assert len(snapshot.services) == 3 + 5


def test_a_quick_round_may_leave_the_tasks_on_nodes_unasked():
    """Swarm walks every task to find those placed on nodes: most quick rounds read only the
    jobs they are told of (placed before, changed) by their ids."""
    engine = a_swarm(parked=5)
    snapshot, _ = quick_snapshot(engine, {"running"}, scan_placed=False)
    assert not [filters for name, filters in engine.calls if name == "tasks" and "node" in filters]
    assert sorted(service["ID"] for service in snapshot.services) == [
        "done-with-callback",
        "halted-with-log",
        "running",
    ]


def test_with_few_jobs_waiting_every_quick_round_asks_for_the_placed_tasks():
    assert all(scans_placed(rounds, FEW_WAITING - 1) for rounds in range(2 * PLACED_SCAN_ROUNDS))


def test_with_many_waiting_one_quick_round_in_placed_scan_rounds_asks():
    asks = [scans_placed(rounds, FEW_WAITING) for rounds in range(2 * PLACED_SCAN_ROUNDS)]
    assert [rounds for rounds, ask in enumerate(asks) if ask] == [
        PLACED_SCAN_ROUNDS - 1,
        2 * PLACED_SCAN_ROUNDS - 1,
    ]


class RemovedMeanwhile(FakeEngine):
    """Another reaper removes a job's service once a quick round has listed it, before the
    round asks for its tasks (Docker then refuses a task listing that names it)."""

    def __init__(self, *args, removed: str):
        super().__init__(*args)
        self.removed = removed

    def services(self, filters: dict | None = None) -> list:
        listed = super().services(filters)
        if any(service["ID"] == self.removed for service in self.service_list):
            self.service_list = [s for s in self.service_list if s["ID"] != self.removed]
            self.task_list = [t for t in self.task_list if t["ServiceID"] != self.removed]
        return listed


def test_a_service_removed_while_a_quick_round_reads_is_as_one_never_found():
    swarm = a_swarm(parked=0)
    engine = RemovedMeanwhile(
        swarm.node_list, swarm.service_list, swarm.task_list, swarm.config_list, removed="running"
    )
    snapshot, looked_at = quick_snapshot(engine, {"running"})
    assert "running" not in {service["ID"] for service in snapshot.services}
    assert "running" not in {task["ServiceID"] for task in snapshot.tasks}
    assert "running" in looked_at  # its record, if live, is checked as a job whose service went
