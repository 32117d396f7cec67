"""GET /jobs: newest first, filters, pages with an opaque cursor, a fixed number of Docker calls."""

import pytest
from conftest import TEST_LABEL, DockerCalls


@pytest.fixture
def three_jobs(lab, api):
    """Three finished jobs, oldest first: two complete (team a, b), one failed (team a)."""
    ids = [
        api.run_ok(image=lab.image, command="true", name="list_one", labels={"team": "a"}),
        api.run_ok(image=lab.image, command="true", name="list_two", labels={"team": "b"}),
        api.run_ok(
            image=lab.image, command="sh -c 'exit 2'", name="list_three", labels={"team": "a"}
        ),
    ]
    for job_id in ids:
        api.wait_for(job_id, ["complete", "failed"])
    return ids


def get_jobs(api, query=""):
    response = api.client.get(f"/jobs{query}", headers=api.headers)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def test_jobs_newest_first_as_status_renders_them(api, three_jobs):
    body = get_jobs(api)
    assert body["success"] is True
    assert [job["id"] for job in body["jobs"]] == list(reversed(three_jobs))
    assert body["next_cursor"] is None
    status = api.status(three_jobs[2]).get_json()
    status.pop("success")
    assert body["jobs"][0] == status


def test_jobs_filters(api, three_jobs):
    assert [j["id"] for j in get_jobs(api, "?status=failed")["jobs"]] == [three_jobs[2]]
    assert [j["id"] for j in get_jobs(api, "?status=complete&status=failed")["jobs"]] == list(
        reversed(three_jobs)
    )
    assert [j["id"] for j in get_jobs(api, "?label=team=a")["jobs"]] == [
        three_jobs[2],
        three_jobs[0],
    ]
    assert [j["id"] for j in get_jobs(api, "?label=team=a&status=complete")["jobs"]] == [
        three_jobs[0]
    ]
    assert [j["id"] for j in get_jobs(api, "?name=list_two")["jobs"]] == [three_jobs[1]]
    assert get_jobs(api, "?status=started")["jobs"] == []


def test_jobs_pages_with_a_cursor(api, three_jobs):
    first = get_jobs(api, "?limit=2")
    assert [j["id"] for j in first["jobs"]] == [three_jobs[2], three_jobs[1]]
    assert first["next_cursor"]
    second = get_jobs(api, f"?limit=2&cursor={first['next_cursor']}")
    assert [j["id"] for j in second["jobs"]] == [three_jobs[0]]
    assert second["next_cursor"] is None


def test_jobs_lists_only_quartermaster_jobs(lab, api, docker_client, three_jobs):
    docker_client.api.create_service(
        {"ContainerSpec": {"Image": lab.image, "Args": ["true"]}}, labels={TEST_LABEL: "x"}
    )
    assert len(get_jobs(api)["jobs"]) == 3


@pytest.mark.parametrize(
    "query",
    ["?limit=0", "?limit=1001", "?limit=x", "?status=done", "?label=team", "?cursor=garbage",
     "?limit=1&limit=2", "?colour=red"],
)  # fmt: skip
def test_bad_jobs_queries_are_400_naming_the_parameter(api, query):
    response = api.client.get(f"/jobs{query}", headers=api.headers)
    assert response.status_code == 400
    name = query[1:].split("=")[0]
    assert name in response.get_json()["fields"]


def test_jobs_costs_two_docker_calls_whatever_the_page(lab, api, three_jobs):
    calls = DockerCalls()
    get_jobs(api, "?limit=1")
    assert len(calls) == 2
    calls.clear()
    get_jobs(api, "?limit=1000&status=complete")
    assert len(calls) == 2
