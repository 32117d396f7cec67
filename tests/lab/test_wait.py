"""GET /status/<id>?wait=S on a real server: many waiters starve no one. (Answering when the job
is final or S seconds pass: the runtime contract, support/contract.py.)"""

from concurrent.futures import ThreadPoolExecutor

import requests


def test_many_waiters_do_not_starve_other_requests(lab, live_server_factory):
    server = live_server_factory("--workers", "1")
    api = server.client()
    job_id = api.run_ok(image=lab.image, command="sleep 60", memory=8)
    waiters = 50  # far more than any thread pool would hold for one worker

    def wait_for_job():
        return api.get(f"/status/{job_id}?wait=10")

    with ThreadPoolExecutor(max_workers=waiters) as pool:
        futures = [pool.submit(wait_for_job) for _ in range(waiters)]
        # While every waiter is held, the same single worker still answers everything else.
        assert requests.get(f"{server.url}/healthz", timeout=5).status_code == 200
        assert api.status(job_id)["status"] in ("pending", "started")
        assert not any(future.done() for future in futures)
        answers = [future.result() for future in futures]
    assert all(answer.status_code == 200 for answer in answers)
    assert all(answer.json()["status"] in ("pending", "started") for answer in answers)
