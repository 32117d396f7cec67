"""Two deployments on one swarm (DEPLOYMENT), each with its own store: each sees, stops and reaps
only its own jobs; an Idempotency-Key sent to both makes a job in each."""

import secrets

from support.lab import DEPLOYMENT, this_test_labels, wait_until


def test_two_deployments_on_one_swarm_keep_to_their_own_jobs(
    lab, live_server_factory, docker_client
):
    # staging removes its finished jobs' services at once (KEEP_FINISHED=0): never production's.
    staging = live_server_factory(
        env={"DEPLOYMENT": f"{DEPLOYMENT}-staging", "REAPER_INTERVAL": "0.5", "KEEP_FINISHED": "0"}
    ).client()
    production = live_server_factory(
        env={"DEPLOYMENT": f"{DEPLOYMENT}-production", "REAPER_INTERVAL": "0.5"}
    ).client()
    key = {"Idempotency-Key": secrets.token_hex(12)}
    body = {"image": lab.image, "command": "echo done"}
    staged = staging.run(headers=key, **body).json()["id"]
    produced = production.run(headers=key, **body).json()["id"]
    assert staged != produced
    running = production.run_ok(image=lab.image, command="sleep 120")

    for api, own, other in ((staging, staged, produced), (production, produced, staged)):
        assert api.status(own, wait=25)["status"] == "complete"  # ?wait: until it is final
        listed = api.get("/jobs", params={"label": f"qm-test={this_test_labels()['qm-test']}"})
        assert other not in [job["id"] for job in listed.json()["jobs"]]
        for path in (f"/status/{other}", f"/logs/{other}", f"/history/{other}"):
            assert api.get(path).status_code == 404, path
        assert api.stop(other).status_code == 404
    assert staging.stop(running).status_code == 404
    assert production.status(running)["status"] in ("pending", "started")

    wait_until(
        lambda: not docker_client.api.services(filters={"id": staged}),
        30,
        "staging's reaper never removed its own finished job",
    )
    assert staging.status(staged)["status"] == "complete"  # from its record
    assert staging.get(f"/logs/{staged}").text == "done\n"
    # Several of staging's rounds later, production's finished job is still on the swarm.
    assert docker_client.api.services(filters={"id": produced})
    assert production.status(produced)["status"] == "complete"
