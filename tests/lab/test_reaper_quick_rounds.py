"""The reaper's quick rounds on the lab: Docker's service events name the services made and
removed, and a quick round reads those jobs and the ones placed on a node, never a job parked
waiting for a node that no event named (in the unit tier: tests/unit/test_quick_rounds.py)."""

from quartermaster.jobs.spec import JobSpec
from quartermaster.reaper.reaper import Reaper
from quartermaster.store import RecordStore
from quartermaster.swarm.docker_connection import DockerConnection
from quartermaster.swarm.runtime import Swarm
from quartermaster.swarm.service_events import ServiceEvents
from support.lab import MANAGER_SOCKET, lab_config, this_test_labels, wait_until

NEVER_PLACED = ("node.labels.qm-test==never-placed",)


def test_service_events_name_each_service_made_and_removed(lab, api):
    events = ServiceEvents(DockerConnection(MANAGER_SOCKET, timeout=30))
    events.start()
    heard: set[str] = set()

    def hears(job_id: str, how: str) -> bool:
        heard.update(getattr(events.take(), how))
        return job_id in heard

    try:
        wait_until(lambda: events.listening, 10, "the event stream never opened")
        assert events.take().gap  # changes before it opened went unheard
        job_id = api.run_ok(image=lab.image, constraints=list(NEVER_PLACED))
        wait_until(lambda: hears(job_id, "changed"), 10, "the service made was not heard of")
        assert not events.take().gap  # none since
        heard.clear()
        assert api.stop(job_id).status_code == 200
        wait_until(lambda: hears(job_id, "removed"), 10, "its removal was not heard of")
    finally:
        events.stop()
    assert events.take().gap  # stopped: changes go unheard


def test_quick_rounds_import_a_parked_job_an_event_names_once_seen_twice(lab, docker_client):
    """A parked job made without the store (an older quartermaster, or the store out of
    reach): a quick round no event told of it leaves it alone; one told of it leaves it for
    the next (a /run's record may be on its way), which looks at it again and records it; and a
    quick round told of its removal records it lost, without asking Docker for it."""
    config = lab_config()
    job_id = Swarm(config).create_job(
        JobSpec(image=lab.image, constraints=NEVER_PLACED, labels=this_test_labels())
    )
    store = RecordStore(config.store_url)
    reaper = Reaper(config)
    try:
        reaper.run_quick(set())
        assert store.live_of({job_id}) == {}
        reaper.run_quick({job_id})  # first seen without a record: not yet
        assert store.live_of({job_id}) == {}
        reaper.run_quick(set())  # not named again: still looked at
        assert store.live_of({job_id})[job_id].status == "pending"
        docker_client.api.remove_service(job_id)
        reaper.run_quick(set(), removed={job_id})  # not asked for: the store says it is ours
        assert store.status(job_id).status == "lost"
        assert store.live_of({job_id}) == {}  # its service's removal noted
    finally:
        reaper.close()
        store.close()
