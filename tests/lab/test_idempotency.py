"""Idempotency-Key on /run: racing retries make one job, claims are taken over and waited for.
(A retry, another request, another name: the runtime contract, support/contract.py.)"""

import json
import time
from concurrent.futures import ThreadPoolExecutor

from quartermaster.compose import compose_app
from quartermaster.jobs import labels
from quartermaster.jobs.idempotency import key_hash
from quartermaster.swarm import claims
from support.api import ApiClient
from support.lab import DEPLOYMENT, hold_claim, lab_config, labelled


def jobs_with_key(docker_client, key):
    """The jobs the key made (by its hash's label: other jobs may be on the lab)."""
    key_labels = [labels.job_filter(DEPLOYMENT), f"quartermaster.idempotency-key={key_hash(key)}"]
    return docker_client.api.services(filters={"label": key_labels})


def claims_of(docker_client, key):
    return docker_client.api.configs(filters={"name": claims.claim_name(key_hash(key), DEPLOYMENT)})


def test_racing_retries_make_one_job(lab, live_server, docker_client):
    body = {"image": lab.image, "command": "sleep 30", "memory": 8}

    def post():
        return live_server.client().run(headers={"Idempotency-Key": "race-1"}, **body)

    with ThreadPoolExecutor(max_workers=20) as pool:
        answers = list(pool.map(lambda _: post(), range(20)))
    assert all(answer.status_code == 200 for answer in answers), [a.text for a in answers]
    assert len({answer.json()["id"] for answer in answers}) == 1
    assert len(jobs_with_key(docker_client, "race-1")) == 1


def test_racing_requests_with_one_key_and_different_names_make_one_job(
    lab, live_server, docker_client
):
    key = "race-names-1"
    names = ["race_a", "race_b", None, "race_c"]  # None: quartermaster names it

    def post(index):
        name = names[index % len(names)]
        body = {"image": lab.image, "command": "sleep 30", "memory": 8}
        if name:
            body["name"] = name
        answer = live_server.client().run(headers={"Idempotency-Key": key}, timeout=60, **body)
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
    response = api.run_with_key("order-6", image=lab.image, command="sleep 30")
    assert response.status_code == 200
    assert [job["ID"] for job in jobs_with_key(docker_client, "order-6")] == [
        response.get_json()["id"]
    ]
    assert not claims_of(docker_client, "order-6")


def test_a_request_waits_for_a_claim_in_progress(lab, docker_client):
    """Another request holds the key's claim: this one waits, and creates the job once that
    claim is let go with no job made; if it is never let go, a 409 says to retry."""
    api = ApiClient(compose_app(lab_config(docker_timeout=2)).test_client(), labelled=labelled)
    body = {"image": lab.image, "command": "sleep 30"}
    claim = hold_claim(docker_client, "order-7", until=time.time() + 60)
    started = time.monotonic()
    response = api.run_with_key("order-7", **body)
    assert response.status_code == 409
    assert "retry" in response.get_json()["error"]
    assert 3 <= time.monotonic() - started < 30  # waited about twice the Docker timeout
    assert not jobs_with_key(docker_client, "order-7")

    with ThreadPoolExecutor(max_workers=1) as pool:
        waiting = pool.submit(api.run_with_key, "order-7", **body)
        time.sleep(1)
        assert not waiting.done()
        docker_client.api.remove_config(claim)
        response = waiting.result(timeout=30)
    assert response.status_code == 200
    assert [job["ID"] for job in jobs_with_key(docker_client, "order-7")] == [
        response.get_json()["id"]
    ]
