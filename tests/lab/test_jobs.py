"""GET /jobs on the swarm: only quartermaster's jobs, at a fixed number of Docker calls. (Order,
filters and pages: the runtime contract, support/contract.py.)"""

import pytest

from support.contract import three_finished_jobs
from support.lab import DockerCalls, this_test_labels


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
