"""The audit trail over HTTP (the unit tier's app on a SQLite store of its own): each change with
its entry (who, what, to what, the answer, the request id, the client), refusals of keys that
exist at most once a minute per key, GET /audit's filters and pages, a tenant's key seeing its
own tenant's entries alone, and never a secret in an entry."""

import sqlalchemy as sa

from quartermaster.compose import compose_app
from quartermaster.store import RecordStore
from support.api import ApiClient, assert_error
from support.fake_runtime import FakeRuntime
from support.settings import BEARER, TOKEN, make_config
from support.tenants import bearer, make_key, make_tenant

SLEEPER = {"image": "qm/busybox:latest", "command": ["sleep", "60"], "memory": 64}


def entries(flask_client, query: str = "", headers=BEARER) -> list[dict]:
    answer = flask_client.get(f"/audit{query}", headers=headers)
    assert answer.status_code == 200, answer.get_data(as_text=True)
    return answer.get_json()["entries"]


def test_each_change_has_its_entry(flask_client):
    made = flask_client.post(
        "/tenants", json={"name": "team-a"}, headers={**BEARER, "X-Request-ID": "req-1"}
    )
    assert made.status_code == 201
    key = make_key(flask_client, "team-a", "ci", ["read", "run", "stop"])["key"]
    flask_client.patch("/tenants/team-a", json={"max_memory": 512}, headers=BEARER)
    tenant = ApiClient(flask_client)
    tenant.headers = bearer(key)
    job_id = tenant.run_ok(**SLEEPER)
    assert tenant.stop(job_id).status_code == 200
    flask_client.delete("/tenants/team-a/keys/ci", headers=BEARER)
    trail = entries(flask_client)
    assert [(e["action"], e["actor"], e["target"], e["code"]) for e in reversed(trail)] == [
        ("tenant_created", "operator", "team-a", 201),
        ("key_created", "operator", "ci", 201),
        ("tenant_changed", "operator", "team-a", 200),
        ("run", "team-a/ci", job_id, 200),
        ("stop", "team-a/ci", job_id, 200),
        ("key_revoked", "operator", "ci", 200),
    ]
    first = trail[-1]
    assert (first["request_id"], first["client"], first["tenant"]) == ("req-1", "127.0.0.1", None)
    assert {e["target_tenant"] for e in trail} == {"team-a"}
    assert trail[2]["tenant"] == "team-a"  # the stop's actor is team-a's key
    assert all(e["at"] and e["id"] for e in trail)


def test_refusals_are_audited_once_a_minute_per_key(flask_client):
    make_tenant(flask_client, "team-a", images=["qm/*"])
    key = make_key(flask_client, "team-a", "ci", ["run"])["key"]
    refused = flask_client.post("/run", json={"image": "evil/miner"}, headers=bearer(key))
    assert_error(refused, 403)
    wrong = key[:-1] + ("A" if key[-1] != "A" else "B")
    for _ in range(3):
        assert_error(flask_client.get("/whoami", headers=bearer(wrong)), 401)
    assert_error(flask_client.get("/jobs", headers=bearer(key)), 403)  # lacks read
    refusals = [
        (e["action"], e["actor"], e["target"], e["code"])
        for e in entries(flask_client)
        if e["action"] in ("run_refused", "key_refused")
    ]
    # The 403 of /jobs comes within the minute of the 401: one entry a minute per key.
    assert list(reversed(refusals)) == [
        ("run_refused", "team-a/ci", None, 403),
        ("key_refused", "team-a/ci", None, 401),
    ]
    # A key that does not exist leaves nothing (no one to name).
    assert_error(
        flask_client.get("/whoami", headers=bearer("qm_0123456789abcdef_" + "A" * 43)), 401
    )
    assert len(entries(flask_client, "?action=key_refused")) == 1


def test_audit_filters_and_pages(flask_client):
    for name in ("team-a", "team-b"):
        make_tenant(flask_client, name)
        make_key(flask_client, name, "ci", ["read"])
    assert [e["target"] for e in entries(flask_client, "?tenant=team-b")] == ["ci", "team-b"]
    assert [e["action"] for e in entries(flask_client, "?action=key_created")] == [
        "key_created", "key_created",
    ]  # fmt: skip
    assert entries(flask_client, "?actor=team-a/ci") == []
    assert len(entries(flask_client, "?actor=operator")) == 4
    assert [e["target"] for e in entries(flask_client, "?target=team-a")] == ["team-a"]
    everything = entries(flask_client)
    first = flask_client.get("/audit?limit=3", headers=BEARER).get_json()
    second = flask_client.get(f"/audit?limit=3&cursor={first['next_cursor']}", headers=BEARER)
    paged = first["entries"] + second.get_json()["entries"]
    assert paged == everything and second.get_json()["next_cursor"] is None
    assert entries(flask_client, "?since=4102444800") == []  # 2100
    assert entries(flask_client, "?until=4102444800") == everything
    assert entries(flask_client, "?until=1") == []
    # A cursor past any position the store holds (the fuzzer's): the end, never a 500.
    assert entries(flask_client, "?cursor=9999999999999999999_9999999999999999999") == everything
    bad = flask_client.get("/audit?actor=Someone&action=dance&cursor=x", headers=BEARER)
    assert set(assert_error(bad, 400)["fields"]) == {"actor", "action", "cursor"}


def test_a_tenants_key_reads_its_own_tenants_entries_alone(flask_client):
    make_tenant(flask_client, "team-a")
    make_tenant(flask_client, "team-b")
    admin = bearer(make_key(flask_client, "team-a", "admin", ["keys", "read"])["key"])
    make_key(flask_client, "team-b", "ci", ["read"])
    make_key(flask_client, "team-a", "reader", ["read"], headers=admin)
    seen = entries(flask_client, "?tenant=team-b", headers=admin)  # its own, whatever it asks
    assert {e["target_tenant"] for e in seen} == {"team-a"}
    assert ("key_created", "team-a/admin", "reader") in [
        (e["action"], e["actor"], e["target"]) for e in seen
    ]
    reader = bearer(make_key(flask_client, "team-a", "reader2", ["read"])["key"])
    assert_error(flask_client.get("/audit", headers=reader), 403)


def test_no_entry_holds_a_secret(app, flask_client):
    make_tenant(flask_client, "team-a")
    key = make_key(flask_client, "team-a", "ci", ["run", "read"])["key"]
    tenant = ApiClient(flask_client)
    tenant.headers = bearer(key)
    tenant.run_ok(**SLEEPER, env={"PASSWORD": "hunter2-secret"})
    engine = sa.create_engine(app.settings.store_url)
    with engine.connect() as connection:
        rows = [
            str(tuple(row)) for row in connection.execute(sa.text("SELECT * FROM audit_entries"))
        ]
    engine.dispose()
    assert rows
    for secret in (key, key.split("_", 2)[2], TOKEN, "hunter2-secret"):
        assert not any(secret in row for row in rows)


def test_the_client_address_comes_from_a_trusted_proxy_only():
    def client_of(trusted: tuple[str, ...]) -> str:
        config = make_config(trusted_proxies=trusted)
        store = RecordStore(config.store_url)
        app = compose_app(config, FakeRuntime(config), store)
        flask_client = app.test_client()
        headers = {**BEARER, "X-Forwarded-For": "203.0.113.9, 198.51.100.7"}
        assert flask_client.post("/tenants", json={"name": "t"}, headers=headers).status_code == 201
        [made] = entries(flask_client)
        store.close()
        return made["client"]

    assert client_of(()) == "127.0.0.1"
    assert client_of(("127.0.0.0/8",)) == "198.51.100.7"  # the rightmost one not trusted
    assert client_of(("127.0.0.1", "198.51.100.0/24")) == "203.0.113.9"
