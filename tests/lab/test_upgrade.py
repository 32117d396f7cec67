"""The upgrade from the last quartermaster without a record store: jobs it made on the swarm are
imported by the new one's reaper, a finished job's log with it, and then read from the store.

The old quartermaster is the real one: its tree at RELEASE_BEFORE_THE_STORE, from this
repository's history, run by the same `quartermaster` command with that tree first on the path.
"""

import subprocess

import pytest
import requests

from support.lab import UNNAMED_DEPLOYMENT, this_test_labels, wait_until
from support.settings import PROJECT_ROOT

# The release before deployments had names runs the unnamed deployment.
pytestmark = pytest.mark.xdist_group(UNNAMED_DEPLOYMENT)


# The last commit of quartermaster before the record store (issue 12).
RELEASE_BEFORE_THE_STORE = "4afe1c9"


@pytest.fixture
def old_tree(tmp_path):
    tree = tmp_path / "old"
    tree.mkdir()
    archive = subprocess.run(
        ["git", "-C", str(PROJECT_ROOT), "archive", RELEASE_BEFORE_THE_STORE, "quartermaster"],
        capture_output=True, check=True, timeout=60,
    )  # fmt: skip
    subprocess.run(["tar", "-x", "-C", str(tree)], input=archive.stdout, check=True, timeout=60)
    return tree


def call(server, method: str, path: str, **kwargs) -> requests.Response:
    return server.client().request(method, path, **kwargs)


def test_jobs_of_the_old_quartermaster_are_imported_with_their_logs(
    lab, live_server_factory, old_tree, docker_client
):
    old = live_server_factory(env={"PYTHONPATH": str(old_tree), "REAPER_INTERVAL": "0"})
    assert "record store" not in (old_tree / "quartermaster" / "process" / "config.py").read_text()
    labels = {**this_test_labels(), "team": "before"}
    body = {"image": lab.image, "labels": labels}
    finished = call(old, "POST", "/run", json={**body, "command": "echo made-before"}).json()["id"]
    running = call(old, "POST", "/run", json={**body, "command": "sleep 120"}).json()["id"]
    wait_until(
        lambda: call(old, "GET", f"/status/{finished}").json()["status"] == "complete",
        60,
        "the old quartermaster's job never completed",
    )
    old.stop()

    new = live_server_factory(
        env={"REAPER_INTERVAL": "0.5", "KEEP_FINISHED": "1", "DEPLOYMENT": ""}
    )
    wait_until(
        lambda: not docker_client.api.services(filters={"id": finished}),
        60,
        "the imported job's service was never removed",
    )
    status = call(new, "GET", f"/status/{finished}").json()
    assert (status["id"], status["status"]) == (finished, "complete")
    assert call(new, "GET", f"/logs/{finished}").text == "made-before\n"
    listed = call(new, "GET", "/jobs?label=team=before").json()["jobs"]
    assert [job["id"] for job in listed] == [running, finished]
    assert listed[0]["status"] in ("pending", "started")  # live: the swarm's status
    assert call(new, "POST", "/stop", json={"id": running}).status_code == 200
    assert call(new, "GET", f"/status/{running}").json()["status"] == "shutdown"
