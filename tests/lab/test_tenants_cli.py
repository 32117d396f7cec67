"""Tenants from a user's side, on the lab: the Python client and the real `qm` command (a
subprocess) make a tenant and a key, the key runs a job within its tenant's policy, is refused
an image outside it, sees itself in `qm whoami`, and stops working once revoked."""

import json
import secrets
import time

import pytest

from quartermaster.client import Client, Forbidden, NotFound, Unauthorized
from support.lab import this_test_labels
from support.qm_command import qm
from support.settings import TOKEN


@pytest.fixture
def team() -> str:
    return f"team-{secrets.token_hex(3)}"


def test_the_client_manages_tenants_and_a_key_runs_within_its_policy(lab, live_server, team):
    with Client(live_server.url, token=TOKEN) as operator:
        made = operator.create_tenant(team, images=[lab.image], max_memory=128, max_timeout=60)
        assert (made.name, made.images, made.max_memory) == (team, (lab.image,), 128)
        assert team in [tenant.name for tenant in operator.tenants()]
        assert operator.update_tenant(team, max_memory=256).max_memory == 256
        key = operator.create_key(team, "ci", ["read", "run", "stop"], expires_in=3600)
        assert key.secret and key.secret.startswith("qm_") and key.secret not in repr(key)
        assert [k.name for k in operator.keys(team)] == ["ci"]
    with Client(live_server.url, token=key.secret) as tenant:
        identity = tenant.whoami()
        assert (identity.operator, identity.tenant, identity.key) == (False, team, "ci")
        labels = this_test_labels()
        job_id = tenant.run(lab.image, ["sh", "-c", "echo hi"], memory=64, labels=labels)
        job = tenant.wait(job_id, timeout=60)
        assert (job.status, job.tenant) == ("complete", team)
        with pytest.raises(Forbidden) as refused:
            tenant.run("qm/other:latest", memory=64, labels=labels)
        assert set(refused.value.fields or {}) == {"image"}
        with pytest.raises(Forbidden):
            tenant.tenants()  # the operator's
    with Client(live_server.url, token=TOKEN) as operator:
        assert [job.id for job in operator.jobs(tenant=team)] == [job_id]
        trail = [(e.action, e.actor, e.code) for e in operator.audit(tenant=team)]
        assert trail[:3] == [
            ("key_refused", f"{team}/ci", 403),  # tenants(): the operator's
            ("run_refused", f"{team}/ci", 403),
            ("run", f"{team}/ci", 200),
        ]
        assert trail[-1] == ("tenant_created", "operator", 201)
        operator.revoke_key(team, "ci")
        with pytest.raises(NotFound):
            operator.revoke_key(team, "ci")
    time.sleep(1.5)  # a worker keeps a key it read for a second
    with Client(live_server.url, token=key.secret) as tenant, pytest.raises(Unauthorized):
        tenant.whoami()


def test_qm_tenants_and_keys(live_server, team):
    url = live_server.url
    made = qm(url, TOKEN, "tenants", "create", team, "--image", "qm/*", "--max-cpus", "1")
    assert made.returncode == 0, made.stderr
    shown = json.loads(qm(url, TOKEN, "tenants", "show", team, "--json").stdout)
    assert (shown["images"], shown["max_cpus"]) == (["qm/*"], 1.0)
    updated = qm(url, TOKEN, "tenants", "update", team, "--lift", "cpus", "--max-timeout", "30")
    assert updated.returncode == 0, updated.stderr
    shown = json.loads(qm(url, TOKEN, "tenants", "show", team, "--json").stdout)
    assert (shown["max_cpus"], shown["max_timeout"]) == (None, 30)
    assert team in qm(url, TOKEN, "tenants", "list").stdout
    created = qm(url, TOKEN, "keys", "create", team, "ci", "--right", "read", "--right", "keys")
    assert created.returncode == 0, created.stderr
    secret = created.stdout.strip()
    assert secret.startswith("qm_") and "not shown again" in created.stderr
    whoami = qm(url, secret, "whoami")
    assert whoami.returncode == 0 and team in whoami.stdout and "read, keys" in whoami.stdout
    # The key's holder manages its own tenant's keys, within its rights.
    listed = qm(url, secret, "keys", "list", team)
    assert listed.returncode == 0 and "ci" in listed.stdout and secret not in listed.stdout
    beyond = qm(url, secret, "keys", "create", team, "runner", "--right", "run")
    assert beyond.returncode == 1 and "lacks" in beyond.stderr
    trail = qm(url, TOKEN, "audit", "--tenant", team, "--json")
    actions = [json.loads(line)["action"] for line in trail.stdout.splitlines()]
    assert actions == ["tenant_created", "tenant_changed", "key_created", "key_refused"]
    table = qm(url, secret, "audit").stdout  # its own tenant's, with the keys right
    assert "key_created" in table and f"{team}/ci" in table
    assert qm(url, TOKEN, "keys", "revoke", team, "ci").returncode == 0
    assert qm(url, TOKEN, "tenants", "delete", team).returncode == 0
    assert qm(url, TOKEN, "tenants", "show", team).returncode == 1
