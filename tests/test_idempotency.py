"""Idempotency-Key on /run: a retry is the same job, even when the retries race."""

from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from conftest import TOKEN


def run_with_key(api, key, **body):
    return api.client.post("/run", json=body, headers={**api.headers, "Idempotency-Key": key})


def test_a_retry_with_the_same_key_is_the_same_job(lab, api, docker_client):
    first = run_with_key(api, "order-1", image=lab.image, command="sleep 30")
    again = run_with_key(api, "order-1", image=lab.image, command="sleep 30")
    assert first.status_code == again.status_code == 200
    assert first.get_json()["id"] == again.get_json()["id"]
    assert len(docker_client.api.services(filters={"label": "quartermaster.job=true"})) == 1
    other = run_with_key(api, "order-2", image=lab.image, command="sleep 30")
    assert other.get_json()["id"] != first.get_json()["id"]


def test_the_same_key_with_a_different_request_is_409(lab, api):
    run_with_key(api, "order-3", image=lab.image, command="sleep 30")
    response = run_with_key(api, "order-3", image=lab.image, command="sleep 31")
    assert response.status_code == 409
    assert "Idempotency-Key" in response.get_json()["error"]


def test_a_key_with_a_name_of_its_own(lab, api):
    first = run_with_key(api, "order-4", image=lab.image, command="sleep 30", name="named_job")
    again = run_with_key(api, "order-4", image=lab.image, command="sleep 30", name="named_job")
    assert first.get_json()["id"] == again.get_json()["id"]
    assert api.status(first.get_json()["id"]).get_json()["name"] == "named_job"
    # The name without the key is just a name in use.
    assert api.run(image=lab.image, command="sleep 30", name="named_job").status_code == 409


@pytest.mark.parametrize("key", ["", "x" * 256, "tab\there", "ünï"])
def test_invalid_keys_are_400(api, key):
    response = api.client.post(
        "/run",
        json={"image": "qm/busybox:latest"},
        headers={**api.headers, "Idempotency-Key": key.encode("utf-8").decode("latin-1")},
    )
    assert response.status_code == 400
    assert "Idempotency-Key" in response.get_json()["fields"]


def test_racing_retries_make_one_job(lab, live_server, docker_client):
    headers = {"Authorization": f"Bearer {TOKEN}", "Idempotency-Key": "race-1"}
    body = {"image": lab.image, "command": "sleep 30", "memory": 8}

    def post():
        return requests.post(f"{live_server.url}/run", json=body, headers=headers, timeout=30)

    with ThreadPoolExecutor(max_workers=20) as pool:
        answers = list(pool.map(lambda _: post(), range(20)))
    assert all(answer.status_code == 200 for answer in answers), [a.text for a in answers]
    assert len({answer.json()["id"] for answer in answers}) == 1
    assert len(docker_client.api.services(filters={"label": "quartermaster.job=true"})) == 1
