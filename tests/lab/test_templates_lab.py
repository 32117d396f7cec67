"""Templates on the lab (their rules: tests/unit/test_templates.py): a template of a private image
keeps its registry credentials sealed and dispatches with them, its parameters reaching the job's
environment; a key with `dispatch` alone runs it."""

import pytest
import requests

from support.lab import PRIVATE_IMAGE, seed_style_auth


@pytest.mark.xdist_group(PRIVATE_IMAGE)  # it removes the private image from the workers
def test_a_dispatch_pulls_with_the_sealed_credentials_and_passes_its_parameters(
    lab, live_server_factory, private_image_not_on_workers
):
    server = live_server_factory(env={"SECRET_KEY": "a-lab-secret-key"})
    operator = server.client()
    assert operator.post("/tenants", json={"name": "tpl-lab"}).status_code == 201
    author, dispatcher = (
        operator.post("/tenants/tpl-lab/keys", json={"name": name, "rights": rights}).json()["key"]
        for name, rights in (("dev", ["templates", "read"]), ("cron", ["dispatch", "read"]))
    )
    template = {
        "name": "report",
        "image": private_image_not_on_workers,
        "command": ["sh", "-c", 'echo "date=$QM_META_DATE mode=$MODE region=$QM_META_REGION"'],
        "env": {"MODE": "full"},
        "memory": 16,
        "parameters": {"required": ["DATE"], "optional": ["REGION"]},
        "auth": seed_style_auth(lab.registry_user, lab.registry_password),
    }
    made = server.client(author).post("/templates", json=template)
    assert made.status_code == 201, made.text
    assert made.json()["auth_kept"] is True
    client = server.client(dispatcher)
    answer = client.post("/templates/report/dispatch", json={"meta": {"DATE": "2026-12-01"}})
    assert answer.status_code == 200, answer.text
    job_id = answer.json()["id"]
    done = client.status(job_id, wait=90)
    assert (done["status"], done["exit_code"], done["tenant"]) == ("complete", 0, "tpl-lab"), done
    output = requests.get(f"{server.url}/logs/{job_id}", headers=client.headers, timeout=10).text
    assert "date=2026-12-01 mode=full region=" in output
    # The dispatcher may not run any other image itself.
    assert client.run(image=lab.image).status_code == 403
