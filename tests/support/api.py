"""The API as the tests call it through Flask's test client, and the JSON error shape."""

import time
from collections.abc import Callable

from support.settings import BEARER


def assert_error(response, code: int) -> dict:
    """The response is the one JSON error shape, with this code; its body."""
    assert response.status_code == code, response.get_data(as_text=True)[:300]
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert body["success"] is False
    assert body["code"] == code
    assert isinstance(body["error"], str) and body["error"]
    assert response.headers["X-Request-ID"]
    return body


def as_given(body: dict) -> dict:
    return body


class ApiClient:
    """A test client sending the token as a Bearer header. `poll_seconds`: how often a wait
    for a job looks again; `labelled(body)`: a /run body as sent (the lab tier's adds the
    running test's label)."""

    def __init__(
        self, client, poll_seconds: float = 0.25, labelled: Callable[[dict], dict] = as_given
    ):
        self.client = client
        self.headers = dict(BEARER)
        self.poll_seconds = poll_seconds
        self.labelled = labelled

    def run(self, **body):
        return self.client.post("/run", json=self.labelled(body), headers=self.headers)

    def run_with_key(self, key: str, **body):
        headers = {**self.headers, "Idempotency-Key": key}
        return self.client.post("/run", json=self.labelled(body), headers=headers)

    def run_ok(self, **body) -> str:
        response = self.run(**body)
        assert response.status_code == 200, response.get_json()
        return response.get_json()["id"]

    def stop(self, job_id):
        return self.client.post("/stop", json={"id": job_id}, headers=self.headers)

    def status(self, job_id, query: str = ""):
        return self.client.get(f"/status/{job_id}{query}", headers=self.headers)

    def get(self, path: str):
        return self.client.get(path, headers=self.headers)

    def get_ok(self, path: str) -> dict:
        response = self.get(path)
        assert response.status_code == 200, response.get_data(as_text=True)[:300]
        return response.get_json()

    def job_ids(self, query: str = "") -> list[str]:
        """The ids /jobs lists, in its order."""
        return [job["id"] for job in self.get_ok(f"/jobs{query}")["jobs"]]

    def logs(self, job_id, query: str = "") -> str:
        response = self.get(f"/logs/{job_id}{query}")
        assert response.status_code == 200, response.get_data(as_text=True)
        assert response.mimetype == "text/plain"
        return response.get_data(as_text=True)

    def wait_for_lines(self, job_id, count: int, timeout: float = 20) -> str:
        """The job's log once it has `count` lines (swarm collects a finished task's logs from
        its worker: they can lag a little)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            text = self.logs(job_id)
            if len(text.splitlines()) >= count:
                return text
            time.sleep(self.poll_seconds)
        raise AssertionError(f"only {text!r} after {timeout}s")

    def wait_until(self, job_id, holds: Callable[[dict], bool], timeout: float = 60) -> dict:
        """Poll /status until `holds(document)`; that document, with the statuses it went
        through under "seen"."""
        deadline = time.monotonic() + timeout
        seen: list[str] = []
        while time.monotonic() < deadline:
            document = self.status(job_id).get_json()
            if not seen or seen[-1] != document.get("status"):
                seen.append(document.get("status"))
            if holds(document):
                document["seen"] = seen
                return document
            time.sleep(self.poll_seconds)
        raise AssertionError(f"job {job_id} never got there; went through {seen}")

    def wait_for(self, job_id, statuses, timeout: float = 60) -> dict:
        """Poll /status until the job's status is one of `statuses`; that document."""
        statuses = {statuses} if isinstance(statuses, str) else set(statuses)
        return self.wait_until(job_id, lambda document: document["status"] in statuses, timeout)
