"""GET /jobs on the swarm: only quartermaster's jobs, at a fixed number of Docker calls. (Order,
filters and pages: the runtime contract, support/contract.py.)"""

from urllib.parse import quote

import pytest

from quartermaster.reaper.reaper import Reaper
from quartermaster.store import RecordStore
from support.contract import three_finished_jobs
from support.lab import TEST_LABEL, DockerCalls, lab_config, reap_until, this_test_labels


@pytest.fixture
def three_jobs(lab, api):
    return three_finished_jobs(api, lab.image)


def test_jobs_lists_only_quartermaster_jobs(lab, api, docker_client, three_jobs):
    docker_client.api.create_service(
        {"ContainerSpec": {"Image": lab.image, "Args": ["true"]}}, labels=this_test_labels()
    )
    assert api.job_ids() == list(reversed(three_jobs))


def test_jobs_costs_two_docker_calls_whatever_the_page(lab, api, three_jobs):
    calls = DockerCalls()
    api.get_ok("/jobs?limit=1")
    assert len(calls) == 2
    calls.clear()
    api.get_ok("/jobs?limit=1000&status=complete")
    assert len(calls) == 2


def test_a_page_of_jobs_whose_ends_are_recorded_costs_no_docker_call(lab, api, three_jobs):
    """The reaper recorded their ends: the page is the store's alone (only a record not yet
    final sends its job to the swarm)."""
    store = RecordStore(lab_config().store_url)
    reaper = Reaper(lab_config())
    try:
        reap_until([reaper], lambda: all(store.status(each).is_final for each in three_jobs))
    finally:
        reaper.close()
        store.close()
    label = quote(f"{TEST_LABEL}={this_test_labels()[TEST_LABEL]}")
    calls = DockerCalls()
    page = api.get_ok(f"/jobs?label={label}&limit=100")
    assert [job["id"] for job in page["jobs"]] == list(reversed(three_jobs))
    assert [job["status"] for job in page["jobs"]] == ["failed", "complete", "complete"]
    assert len(calls) == 0
