"""Templates on the lab (their rules: tests/unit/test_templates.py): a template of a private image
keeps its registry credentials sealed and dispatches with them, its parameters reaching the job's
environment; a key with `dispatch` alone runs it."""

import pytest
import requests

from quartermaster.client import Client
from support.lab import PRIVATE_IMAGE, seed_style_auth, wait_until
from support.qm_command import qm
from support.settings import TOKEN


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
    live = client.status(job_id)  # from its service's labels, before any record is final
    assert (live["template"], live["scheduled_for"]) == ("report", None), live
    wait_until(lambda: client.status(job_id, wait=30)["status"] == "complete", 90, "no end")
    done = client.status(job_id)
    assert (done["status"], done["exit_code"], done["tenant"]) == ("complete", 0, "tpl-lab"), done
    assert done["template"] == "report"
    listed = requests.get(
        f"{server.url}/jobs", params={"template": "report"}, headers=client.headers, timeout=10
    ).json()["jobs"]
    assert [job["id"] for job in listed] == [job_id]
    output = requests.get(f"{server.url}/logs/{job_id}", headers=client.headers, timeout=10).text
    assert "date=2026-12-01 mode=full region=" in output
    # The dispatcher may not run any other image itself.
    assert client.run(image=lab.image).status_code == 403


def test_qm_makes_a_template_from_yaml_and_dispatches_it_attached(
    lab, live_server_factory, tmp_path
):
    server = live_server_factory()
    (tmp_path / "greet.yaml").write_text(
        "name: greet\n"
        f"image: {lab.image}\n"
        "command: [sh, -c, 'echo hello $QM_META_WHO; exit 3']\n"
        "memory: 16\n"
        "parameters:\n  required: [WHO]\n"
    )
    made = qm(server.url, TOKEN, "templates", "create", "-f", str(tmp_path / "greet.yaml"))
    assert made.returncode == 0, made.stderr
    listed = qm(server.url, TOKEN, "templates", "list")
    assert "greet" in listed.stdout and "WHO" in listed.stdout
    ran = qm(server.url, TOKEN, "dispatch", "greet", "-m", "WHO=world")
    assert (ran.returncode, ran.stdout) == (3, "hello world\n"), ran.stderr
    (tmp_path / "payload").write_bytes(b"from a file\n")
    cat = {"name": "cat", "image": lab.image, "command": ["cat", "/qm/payload"], "memory": 16,
           "payload": "required"}  # fmt: skip
    assert server.client().post("/templates", json=cat).status_code == 201
    catted = qm(server.url, TOKEN, "dispatch", "cat", "--payload", str(tmp_path / "payload"))
    assert (catted.returncode, catted.stdout) == (0, "from a file\n"), catted.stderr
    refused = qm(server.url, TOKEN, "dispatch", "greet")
    assert refused.returncode == 125 and "WHO" in refused.stderr
    with Client(server.url, token=TOKEN) as client:
        assert [template.name for template in client.templates()] == ["cat", "greet"]
        job = client.wait(client.dispatch("greet", {"WHO": "client"}), timeout=60)
        assert (job.status, job.exit_code) == ("failed", 3)
        assert client.update_template("greet", memory=32).request["memory"] == 32
    removed = qm(server.url, TOKEN, "templates", "delete", "greet")
    assert removed.returncode == 0, removed.stderr
    assert qm(server.url, TOKEN, "templates", "show", "greet").returncode != 0


def test_a_payload_is_a_file_in_the_container_and_goes_with_its_service(
    lab, live_server_factory, docker_client
):
    server = live_server_factory()
    client = server.client()
    template = {
        "name": "echo-payload",
        "image": lab.image,
        "memory": 16,
        "command": ["sh", "-c", "cat /qm/payload; sleep 30"],
        "payload": "required",
    }
    assert client.post("/templates", json=template).status_code == 201
    data = b"line one\nline two\n"
    answer = client.post(
        "/templates/echo-payload/dispatch", data=data,
        headers={"Content-Type": "application/octet-stream"},
    )  # fmt: skip
    assert answer.status_code == 200, answer.text
    job_id = answer.json()["id"]
    [mounted] = docker_client.api.inspect_service(job_id)["Spec"]["TaskTemplate"]["ContainerSpec"][
        "Configs"
    ]
    assert mounted["File"]["Name"] == "/qm/payload"
    logs = f"{server.url}/logs/{job_id}?follow=true"
    with requests.get(logs, headers=client.headers, stream=True, timeout=60) as stream:
        seen = b""
        for chunk in stream.iter_content(None):
            seen += chunk
            if seen.count(b"\n") >= 2:
                break
    assert seen == data
    assert client.stop(job_id).status_code == 200
    configs = docker_client.api.configs(filters={"id": mounted["ConfigID"]})
    assert [config for config in configs if config["ID"] == mounted["ConfigID"]] == []
