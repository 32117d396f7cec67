"""Idempotency-Key on /run: a retry is the same job, even when the retries race."""

import json
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from conftest import TOKEN, hold_claim, make_config

from quartermaster.swarm import claims
from quartermaster.swarm.spec import key_hash
from quartermaster.web.app import create_app


def jobs_with_key(docker_client, key):
    """The jobs the key made (by its hash's label: other jobs may be on the lab)."""
    key_labels = ["quartermaster.job=true", f"quartermaster.idempotency-key={key_hash(key)}"]
    return docker_client.api.services(filters={"label": key_labels})


def claims_of(docker_client, key):
    return docker_client.api.configs(filters={"name": claims.claim_name(key_hash(key))})


def run_with_key(api, key, **body):
    return api.client.post("/run", json=body, headers={**api.headers, "Idempotency-Key": key})


def test_a_retry_with_the_same_key_is_the_same_job(lab, api, docker_client):
    first = run_with_key(api, "order-1", image=lab.image, command="sleep 30")
    again = run_with_key(api, "order-1", image=lab.image, command="sleep 30")
    assert first.status_code == again.status_code == 200
    assert first.get_json()["id"] == again.get_json()["id"]
    assert len(jobs_with_key(docker_client, "order-1")) == 1
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
    assert len(jobs_with_key(docker_client, "race-1")) == 1


def test_the_same_key_with_another_name_is_409_and_starts_nothing(lab, api, docker_client):
    first = run_with_key(api, "order-5", image=lab.image, command="sleep 30", name="key_a")
    other = run_with_key(api, "order-5", image=lab.image, command="sleep 30", name="key_b")
    assert first.status_code == 200
    assert other.status_code == 409
    assert "Idempotency-Key" in other.get_json()["error"]
    again = run_with_key(api, "order-5", image=lab.image, command="sleep 30", name="key_a")
    assert (again.status_code, again.get_json()["id"]) == (200, first.get_json()["id"])
    assert [job["Spec"]["Name"] for job in jobs_with_key(docker_client, "order-5")] == ["key_a"]
    assert not docker_client.api.services(filters={"name": "key_b"})
    # The key is remembered as long as its job exists.
    assert api.stop(first.get_json()["id"]).status_code == 200
    after = run_with_key(api, "order-5", image=lab.image, command="sleep 30", name="key_b")
    assert after.status_code == 200
    assert after.get_json()["id"] != first.get_json()["id"]


def test_racing_requests_with_one_key_and_different_names_make_one_job(
    lab, live_server, docker_client
):
    key = "race-names-1"
    headers = {"Authorization": f"Bearer {TOKEN}", "Idempotency-Key": key}
    names = ["race_a", "race_b", None, "race_c"]  # None: quartermaster names it

    def post(index):
        name = names[index % len(names)]
        body = {"image": lab.image, "command": "sleep 30", "memory": 8}
        if name:
            body["name"] = name
        answer = requests.post(f"{live_server.url}/run", json=body, headers=headers, timeout=60)
        return name, answer

    with ThreadPoolExecutor(max_workers=20) as pool:
        answers = list(pool.map(post, range(20)))
    jobs = jobs_with_key(docker_client, key)
    assert len(jobs) == 1, [job["Spec"]["Name"] for job in jobs]
    job = jobs[0]
    winner = job["Spec"]["Name"] if job["Spec"]["Name"] in names else None
    for name, answer in answers:
        if name == winner:
            assert (answer.status_code, answer.json()["id"]) == (200, job["ID"])
        else:
            assert answer.status_code == 409, answer.text
    # Only the key's hash is kept anywhere, and no claim outlives the requests.
    assert key not in json.dumps(docker_client.api.services() + docker_client.api.configs())
    assert not claims_of(docker_client, key)


def test_a_claim_left_by_a_request_that_died_is_taken_over(lab, api, docker_client):
    hold_claim(docker_client, "order-6", until=time.time() - 1)
    response = run_with_key(api, "order-6", image=lab.image, command="sleep 30")
    assert response.status_code == 200
    assert [job["ID"] for job in jobs_with_key(docker_client, "order-6")] == [
        response.get_json()["id"]
    ]
    assert not claims_of(docker_client, "order-6")


def test_a_request_waits_for_a_claim_in_progress(lab, docker_client):
    """Another request holds the key's claim: this one waits, and creates the job once that
    claim is let go with no job made; if it is never let go, a 409 says to retry."""
    api = create_app(make_config(docker_timeout=2)).test_client()
    headers = {"Authorization": f"Bearer {TOKEN}", "Idempotency-Key": "order-7"}
    body = {"image": lab.image, "command": "sleep 30"}
    claim = hold_claim(docker_client, "order-7", until=time.time() + 60)
    started = time.monotonic()
    response = api.post("/run", json=body, headers=headers)
    assert response.status_code == 409
    assert "retry" in response.get_json()["error"]
    assert 3 <= time.monotonic() - started < 30  # waited about twice the Docker timeout
    assert not jobs_with_key(docker_client, "order-7")

    with ThreadPoolExecutor(max_workers=1) as pool:
        waiting = pool.submit(api.post, "/run", json=body, headers=headers)
        time.sleep(1)
        assert not waiting.done()
        docker_client.api.remove_config(claim)
        response = waiting.result(timeout=30)
    assert response.status_code == 200
    assert [job["ID"] for job in jobs_with_key(docker_client, "order-7")] == [
        response.get_json()["id"]
    ]
