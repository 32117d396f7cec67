"""What /status, /stop, /jobs and /logs refuse before the runtime is asked: each a 400 naming the
field or parameter; and what /status ignores."""

import pytest

from support.settings import TOKEN

IMAGE = "qm/busybox:latest"


@pytest.mark.parametrize("reference", ["..%2F..%2Fetc", "a%00b", "%C3%BC", "-x", "a" * 80])
def test_malformed_ids_are_400_naming_id(api, reference):
    response = api.client.get(f"/status/{reference}", headers=api.headers)
    assert response.status_code in (400, 404)
    if response.status_code == 400:
        assert "id" in response.get_json()["fields"]
    response = api.client.post("/stop", json={"id": reference}, headers=api.headers)
    assert response.status_code == 400
    assert "id" in response.get_json()["fields"]


def test_a_json_body_on_status_is_ignored(api):
    job_id = api.run_ok(image=IMAGE, command="sleep 30")
    response = api.client.get(
        f"/status/{job_id}?token={TOKEN}",
        json={"token": TOKEN, "command": "sleep 50", "image": "alpine", "type": "service"},
    )
    assert response.status_code == 200
    assert response.get_json()["image"] == IMAGE


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


def test_label_filters_are_at_most_as_many_as_a_jobs_labels(api):
    """Each filter is a lookup for each job a page reads: no more of them than a job can have."""
    labels = "".join(f"&label=k{n}=v" for n in range(64))
    assert api.client.get(f"/jobs?limit=1{labels}", headers=api.headers).status_code == 200
    response = api.client.get(f"/jobs?limit=1{labels}&label=k64=v", headers=api.headers)
    assert response.status_code == 400
    assert response.get_json()["fields"]["label"] == ["at most 64 label filters"]


@pytest.mark.parametrize(
    "query",
    [
        "?tail=-1",
        "?tail=x",
        "?tail=%C2%B2",  # a superscript two: a digit to str.isdigit, not to int()
        "?stream=both",
        "?follow=maybe",
        "?since=-5",
        "?since=1.7e308",  # Docker answers a 500 on times past year 9999
        "?since=253402300800",
        "?lines=3",
    ],
)
def test_bad_log_queries_are_400(api, query):
    job_id = api.run_ok(image=IMAGE, command="echo hello")
    response = api.client.get(f"/logs/{job_id}{query}", headers=api.headers)
    assert response.status_code == 400
    assert query[1:].split("=")[0] in response.get_json()["fields"]


def test_wait_is_bounded(api):
    for wait in ("61", "-1", "soon", "nan"):
        response = api.client.get(f"/status/nosuchjob?wait={wait}", headers=api.headers)
        assert response.status_code == 400
        assert "wait" in response.get_json()["fields"]


def test_unknown_query_parameters_are_400(api):
    response = api.client.get("/status/nosuchjob?wiat=5", headers=api.headers)
    assert response.status_code == 400
    assert "wiat" in response.get_json()["fields"]
