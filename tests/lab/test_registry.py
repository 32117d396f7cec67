"""Private images: the seed's `auth` field carries credentials to the workers, and nowhere else."""

import json

import pytest

from support.lab import PRIVATE_IMAGE, seed_style_auth

# They remove the private image from the workers.
pytestmark = pytest.mark.xdist_group(PRIVATE_IMAGE)


def test_a_private_image_runs_with_auth(lab, api, docker_client, private_image_not_on_workers):
    job_id = api.run_ok(
        image=lab.private_image,
        command="echo private",
        auth=seed_style_auth(lab.registry_user, lab.registry_password),
    )
    document = api.wait_for(job_id, ["complete", "failed", "rejected"])
    assert document["status"] == "complete", document
    # The credentials are forwarded, never stored where the API shows them.
    inspected = json.dumps(docker_client.api.inspect_service(job_id))
    assert lab.registry_password not in inspected
    assert seed_style_auth(lab.registry_user, lab.registry_password) not in inspected


@pytest.mark.parametrize("auth", [None, "wrong-password"])
def test_a_private_image_without_valid_auth_is_rejected_with_the_reason(
    lab, api, auth, private_image_not_on_workers
):
    body = {"image": lab.private_image, "command": "echo private"}
    if auth:
        body["auth"] = seed_style_auth(lab.registry_user, auth)
    job_id = api.run_ok(**body)
    document = api.wait_for(job_id, ["complete", "failed", "rejected"])
    assert document["status"] == "rejected"
    assert "No such image" in document["error"]
