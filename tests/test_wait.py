"""GET /status/<id>?wait=S: answer when the job is final or S seconds pass, starving no one."""

from concurrent.futures import ThreadPoolExecutor

import requests
from conftest import TOKEN


def test_wait_answers_once_the_job_is_final(lab, api):
    job_id = api.run_ok(image=lab.image, command="sh -c 'sleep 2; exit 6'")
    response = api.client.get(f"/status/{job_id}?wait=30", headers=api.headers)
    assert response.status_code == 200
    document = response.get_json()
    assert (document["status"], document["exit_code"]) == ("failed", 6)


def test_wait_gives_up_after_the_given_seconds(lab, api):
    job_id = api.run_ok(image=lab.image, command="sleep 60")
    api.wait_for(job_id, "started")
    response = api.client.get(f"/status/{job_id}?wait=1.5", headers=api.headers)
    assert response.get_json()["status"] == "started"


def test_wait_is_bounded(api):
    for wait in ("61", "-1", "soon", "nan"):
        response = api.client.get(f"/status/nosuchjob?wait={wait}", headers=api.headers)
        assert response.status_code == 400
        assert "wait" in response.get_json()["fields"]


def test_unknown_query_parameters_are_400(api):
    response = api.client.get("/status/nosuchjob?wiat=5", headers=api.headers)
    assert response.status_code == 400
    assert "wiat" in response.get_json()["fields"]


def test_many_waiters_do_not_starve_other_requests(lab, live_server_factory):
    server = live_server_factory("--workers", "1")
    headers = {"Authorization": f"Bearer {TOKEN}"}
    ran = requests.post(
        f"{server.url}/run",
        json={"image": lab.image, "command": "sleep 60", "memory": 8},
        headers=headers,
        timeout=10,
    )
    job_id = ran.json()["id"]
    waiters = 50  # far more than any thread pool would hold for one worker

    def wait_for_job():
        return requests.get(f"{server.url}/status/{job_id}?wait=10", headers=headers, timeout=30)

    with ThreadPoolExecutor(max_workers=waiters) as pool:
        futures = [pool.submit(wait_for_job) for _ in range(waiters)]
        # While every waiter is held, the same single worker still answers everything else.
        assert requests.get(f"{server.url}/healthz", timeout=5).status_code == 200
        quick = requests.get(f"{server.url}/status/{job_id}", headers=headers, timeout=5)
        assert quick.json()["status"] in ("pending", "started")
        assert not any(future.done() for future in futures)
        answers = [future.result() for future in futures]
    assert all(answer.status_code == 200 for answer in answers)
    assert all(answer.json()["status"] in ("pending", "started") for answer in answers)
