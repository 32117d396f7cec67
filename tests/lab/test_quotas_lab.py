"""Quotas on the lab (the rules, and admission by /stop: tests/unit/test_quotas.py): a burst over
two instances on PostgreSQL never passes a tenant's quota, the reapers admit each queued job once
as room frees, and a queue outlives a SIGKILL of its instance."""

from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from quartermaster.jobs import labels as job_labels
from support.lab import (
    PRIVATE_IMAGE,
    kill_with_its_children,
    seed_style_auth,
    tenant_with_key,
    wait_until,
)
from support.postgres import fresh_database_url

pytestmark = pytest.mark.usefixtures("postgres")
BURST = 50
QUOTA = 5


def held_and_live(docker_client, tenant: str) -> tuple[int, int, int]:
    """The tenant's jobs on the swarm: held (queued), released and not ended, and ended."""
    services = docker_client.api.services(filters={"label": f"{job_labels.TENANT}={tenant}"})
    held = [s for s in services if job_labels.QUEUED in s["Spec"]["Labels"]]
    released = {s["ID"] for s in services} - {s["ID"] for s in held}
    tasks = docker_client.api.tasks(filters={"service": list(released)}) if released else []
    ended = {t["ServiceID"] for t in tasks if t["Status"]["State"] == "complete"}
    return len(held), len(released - ended), len(ended)


def test_a_burst_over_two_instances_never_passes_the_quota_and_each_is_admitted_once(
    lab, live_server_factory, docker_client
):
    url = fresh_database_url()
    env = {"DATABASE_URL": url, "REAPER_INTERVAL": "0.5"}
    servers = [live_server_factory("--workers", "2", env=env) for _ in range(2)]
    tenant, key = tenant_with_key(servers[0], "q", quota={"jobs": QUOTA})
    body = {"image": lab.image, "command": ["sleep", "6"], "memory": 6}

    def run_one(index: int) -> str:
        client = servers[index % 2].client(key)
        return client.run_ok(**body)

    with ThreadPoolExecutor(BURST) as pool:
        job_ids = list(pool.map(run_one, range(BURST)))
    assert len(set(job_ids)) == BURST
    held, live, ended = held_and_live(docker_client, tenant)
    assert (held, live, ended) == (BURST - QUOTA, QUOTA, 0)
    queued = servers[1].client(key).get("/jobs?status=queued&limit=100").json()["jobs"]
    assert sorted(job["queue_position"] for job in queued) == list(range(1, BURST - QUOTA + 1))
    # A wider quota drains the rest sooner; each reaper admits as jobs end, never past it.
    widened = 15
    widen = {"quota": {"jobs": widened}}
    answer = servers[0].client().request("PATCH", f"/tenants/{tenant}", json=widen)
    assert answer.status_code == 200

    def drained() -> bool:
        _, live, ended = held_and_live(docker_client, tenant)
        assert live <= widened, f"{live} live jobs, past the quota of {widened}"
        return ended == BURST

    wait_until(drained, 180, "the queue did not drain")

    def recorded_statuses(job_id: str) -> list[str]:
        timeline = servers[1].client(key).get(f"/history/{job_id}").json()["timeline"]
        return [step["status"] for step in timeline]

    # The swarm shows a task complete before a reaper records it: wait for the records.
    wait_until(
        lambda: all("complete" in recorded_statuses(job_id) for job_id in job_ids),
        60, "the reapers did not record every job's end",
    )  # fmt: skip
    for job_id in job_ids:
        document = servers[0].client(key).status(job_id)
        assert (document["status"], document["attempts"]) == ("complete", 1), document
        statuses = recorded_statuses(job_id)
        assert statuses.count("complete") == 1, statuses


def test_a_queue_outlives_a_sigkill_and_none_is_admitted_twice(lab, live_server_factory, tmp_path):
    env = {"REAPER_INTERVAL": "0.5", "DATA_DIR": str(tmp_path / "kept-store")}
    first = live_server_factory(env=env)
    tenant, key = tenant_with_key(first, "q", quota={"jobs": 1})
    body = {"image": lab.image, "command": ["sleep", "2"], "memory": 6}
    job_ids = [first.client(key).run_ok(**body) for _ in range(4)]
    positions = [first.client(key).status(job_id).get("queue_position") for job_id in job_ids]
    assert positions == [None, 1, 2, 3]
    kill_with_its_children(first.process.pid)
    second = live_server_factory(env=env)
    client = second.client(key)

    def all_complete() -> bool:
        return all(client.status(job_id)["status"] == "complete" for job_id in job_ids)

    wait_until(all_complete, 90, "the queued jobs did not all run")
    for job_id in job_ids:
        assert client.status(job_id)["attempts"] == 1
    entries = second.client().get(f"/audit?tenant={tenant}&action=run&limit=100").json()["entries"]
    assert sorted(entry["target"] for entry in entries) == sorted(job_ids)


@pytest.mark.xdist_group(PRIVATE_IMAGE)  # it removes the private image from the workers
def test_a_queued_private_image_keeps_its_registry_credentials(
    lab, live_server_factory, private_image_not_on_workers
):
    """Admission updates the held service: the credentials it was made with must survive it."""
    server = live_server_factory(env={"REAPER_INTERVAL": "0.5"})
    _, key = tenant_with_key(server, "q", quota={"jobs": 1})
    client = server.client(key)
    blocker = client.run_ok(image=lab.image, command=["sleep", "2"], memory=6)
    private = client.run_ok(
        image=private_image_not_on_workers, command=["echo", "pulled-with-auth"], memory=6,
        auth=seed_style_auth(lab.registry_user, lab.registry_password),
    )  # fmt: skip
    assert client.status(private)["status"] == "queued"
    wait_until(lambda: client.status(blocker)["status"] == "complete", 60, "no end")
    wait_until(lambda: client.status(private)["status"] == "complete", 90, "not pulled")
    assert (
        "pulled-with-auth"
        in requests.get(f"{server.url}/logs/{private}", headers=client.headers, timeout=10).text
    )
