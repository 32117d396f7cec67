"""Tenants and their keys over HTTP (the unit tier's app, on a SQLite store of its own): the
operator manages tenants; keys are made once, checked by the id inside them, carry rights, and
stop working when revoked, expired or their tenant removed; /whoami says who a key is."""

import time

import pytest
import sqlalchemy as sa

from quartermaster.jobs.api_keys import KEY_PATTERN
from quartermaster.jobs.errors import StoreUnavailable
from support import tenants
from support.api import assert_error
from support.settings import BEARER
from support.tenants import bearer, make_key

TEAM_A = {
    "name": "team-a",
    "images": ["qm/*"],
    "constraints": ["node.labels.pool==a"],
    "max_memory": 512,
    "max_cpus": 1.5,
    "max_timeout": 600,
}


def make_tenant(flask_client, **fields) -> dict:
    return tenants.make_tenant(flask_client, **{**TEAM_A, **fields})


def test_the_operator_makes_reads_changes_and_removes_a_tenant(flask_client):
    made = make_tenant(flask_client)
    assert {key: made[key] for key in TEAM_A} == TEAM_A
    assert made["success"] is True and made["created_at"] == made["updated_at"]
    assert flask_client.get("/tenants/team-a", headers=BEARER).get_json() == made
    make_tenant(flask_client, name="team-b", images=[], max_memory=None)
    listed = flask_client.get("/tenants", headers=BEARER).get_json()["tenants"]
    assert [tenant["name"] for tenant in listed] == ["team-a", "team-b"]
    # A change keeps what it does not name; null lifts a ceiling.
    changed = flask_client.patch(
        "/tenants/team-a", json={"max_memory": None, "images": ["qm/*", "x/*"]}, headers=BEARER
    ).get_json()
    assert (changed["max_memory"], changed["images"], changed["max_cpus"]) == (
        None, ["qm/*", "x/*"], 1.5,
    )  # fmt: skip
    assert flask_client.delete("/tenants/team-a", headers=BEARER).status_code == 200
    assert_error(flask_client.get("/tenants/team-a", headers=BEARER), 404)
    assert_error(flask_client.delete("/tenants/team-a", headers=BEARER), 404)


def test_a_tenant_name_is_taken_once_and_bad_fields_are_named(flask_client):
    make_tenant(flask_client)
    assert_error(flask_client.post("/tenants", json=TEAM_A, headers=BEARER), 409)
    bad = flask_client.post(
        "/tenants",
        json={"name": "Team A", "max_memory": -1, "constraints": ["rm -rf"], "colour": 1},
        headers=BEARER,
    )
    assert set(assert_error(bad, 400)["fields"]) == {"name", "max_memory", "constraints", "colour"}
    assert set(assert_error(flask_client.get("/tenants/UPPER", headers=BEARER), 400)["fields"]) == {
        "name"
    }


def test_a_key_is_shown_once_and_kept_only_as_a_hash(app, flask_client):
    make_tenant(flask_client)
    made = make_key(flask_client, "team-a", "ci", ["read", "run"], expires_in=3600)
    secret = made["key"]
    assert KEY_PATTERN.match(secret)
    assert (made["name"], made["tenant"], made["rights"]) == ("ci", "team-a", ["read", "run"])
    assert made["expires_at"] > made["created_at"] and made["last_used_at"] is None
    listed = flask_client.get("/tenants/team-a/keys", headers=BEARER).get_json()["keys"]
    assert [key["name"] for key in listed] == ["ci"] and "key" not in listed[0]
    # The store holds its hash, never the secret or any part of it past the id.
    engine = sa.create_engine(app.settings.store_url)
    with engine.connect() as connection:
        rows = [tuple(row) for row in connection.execute(sa.text("SELECT * FROM api_keys"))]
    engine.dispose()
    assert rows and not any(secret.split("_", 2)[2] in str(value) for value in rows[0])
    # The same name again is a conflict; rotation is a new name, then a revoke.
    assert_error(
        flask_client.post(
            "/tenants/team-a/keys", json={"name": "ci", "rights": ["read"]}, headers=BEARER
        ),
        409,
    )


def test_whoami_says_who_a_key_is(flask_client):
    assert flask_client.get("/whoami", headers=BEARER).get_json() == {
        "success": True,
        "operator": True,
        "tenant": None,
        "key": None,
        "rights": ["read", "run", "stop", "keys", "templates", "dispatch"],
        "expires_at": None,
        "policy": None,
    }
    make_tenant(flask_client)
    made = make_key(flask_client, "team-a", "ci", ["run", "read"], expires_in=60)
    who = flask_client.get("/whoami", headers=bearer(made["key"])).get_json()
    assert (who["operator"], who["tenant"], who["key"], who["rights"]) == (
        False, "team-a", "ci", ["read", "run"],
    )  # fmt: skip
    assert who["expires_at"][:19] == made["expires_at"][:19]
    assert who["policy"] == {key: TEAM_A[key] for key in who["policy"]}  # its tenant's
    # Sent as ?token= or in a body, as the operator's token is.
    assert flask_client.get(f"/whoami?token={made['key']}").status_code == 200
    # Its use is noted (at most once a minute).
    listed = flask_client.get("/tenants/team-a/keys", headers=BEARER).get_json()["keys"]
    assert listed[0]["last_used_at"] is not None


@pytest.mark.parametrize(
    "wrong",
    [
        "qm_0123456789abcdef_" + "A" * 43,  # an id no key has
        "qm_short",
        "qm_",
    ],
)
def test_an_unknown_or_malformed_key_is_the_same_401(flask_client, wrong):
    make_tenant(flask_client)
    real = make_key(flask_client, "team-a", "ci", ["read"])["key"]
    wrong_secret = real[:-1] + ("A" if real[-1] != "A" else "B")
    answers = [
        assert_error(flask_client.get("/whoami", headers=bearer(key)), 401)["error"]
        for key in (wrong, wrong_secret, "not-a-key-at-all")
    ]
    assert len(set(answers)) == 1


def test_a_revoked_expired_or_orphaned_key_stops_working(flask_client, monkeypatch):
    make_tenant(flask_client)
    revoked = make_key(flask_client, "team-a", "revoked", ["read"])["key"]
    expiring = make_key(flask_client, "team-a", "expiring", ["read"], expires_in=1)["key"]
    orphaned = make_key(flask_client, "team-a", "orphaned", ["read"])["key"]
    for key in (revoked, expiring, orphaned):
        assert flask_client.get("/whoami", headers=bearer(key)).status_code == 200
    assert flask_client.delete("/tenants/team-a/keys/revoked", headers=BEARER).status_code == 200
    assert_error(flask_client.delete("/tenants/team-a/keys/revoked", headers=BEARER), 404)
    time.sleep(1.1)  # the worker's cache of keys read (KEY_CACHE_SECONDS), and the expiry
    assert_error(flask_client.get("/whoami", headers=bearer(revoked)), 401)
    assert_error(flask_client.get("/whoami", headers=bearer(expiring)), 401)
    assert flask_client.get("/whoami", headers=bearer(orphaned)).status_code == 200
    assert flask_client.delete("/tenants/team-a", headers=BEARER).status_code == 200
    time.sleep(1.1)
    assert_error(flask_client.get("/whoami", headers=bearer(orphaned)), 401)


def test_a_key_with_the_keys_right_manages_its_own_tenants_keys_within_its_rights(flask_client):
    make_tenant(flask_client)
    make_tenant(flask_client, name="team-b")
    admin = bearer(make_key(flask_client, "team-a", "admin", ["keys", "read"])["key"])
    made = make_key(flask_client, "team-a", "reader", ["read"], headers=admin)
    assert made["rights"] == ["read"]
    beyond = flask_client.post(
        "/tenants/team-a/keys", json={"name": "runner", "rights": ["run"]}, headers=admin
    )
    assert set(assert_error(beyond, 403)["fields"]) == {"rights"}
    listed = flask_client.get("/tenants/team-a/keys", headers=admin).get_json()["keys"]
    assert [key["name"] for key in listed] == ["admin", "reader"]
    assert flask_client.delete("/tenants/team-a/keys/reader", headers=admin).status_code == 200
    # Another tenant is one that does not exist, to this key.
    for method, path in [
        ("get", "/tenants/team-b/keys"),
        ("post", "/tenants/team-b/keys"),
        ("delete", "/tenants/team-b/keys/admin"),
    ]:
        body = {"name": "x", "rights": ["read"]} if method == "post" else None
        other = getattr(flask_client, method)(path, json=body, headers=admin)
        missing = getattr(flask_client, method)(
            path.replace("team-b", "no-such"), json=body, headers=admin
        )
        assert assert_error(other, 404)["error"] == assert_error(missing, 404)["error"]


def test_a_key_without_the_right_or_on_the_operators_routes_is_403(flask_client):
    make_tenant(flask_client)
    reader = bearer(make_key(flask_client, "team-a", "reader", ["read"])["key"])
    assert_error(flask_client.get("/tenants/team-a/keys", headers=reader), 403)
    assert_error(flask_client.get("/tenants", headers=reader), 403)
    assert_error(flask_client.patch("/tenants/team-a", json={}, headers=reader), 403)
    assert_error(flask_client.post("/tenants", json=TEAM_A, headers=reader), 403)
    assert_error(flask_client.post("/run", json={"image": "qm/busybox"}, headers=reader), 403)
    assert_error(flask_client.post("/stop", json={"id": "x"}, headers=reader), 403)
    assert flask_client.get("/jobs", headers=reader).status_code == 200


def test_keys_of_a_tenant_that_does_not_exist_are_404(flask_client):
    body = {"name": "ci", "rights": ["read"]}
    assert_error(flask_client.post("/tenants/no-such/keys", json=body, headers=BEARER), 404)
    assert_error(flask_client.get("/tenants/no-such/keys", headers=BEARER), 404)


def test_a_key_is_503_while_the_store_cannot_check_it_and_the_token_still_works(
    app, flask_client, monkeypatch
):
    make_tenant(flask_client)
    key = make_key(flask_client, "team-a", "ci", ["read"])["key"]

    def unreachable(key_id):
        raise StoreUnavailable("the record store cannot be reached")

    monkeypatch.setattr(app.tenants._store, "stored_key", unreachable)
    assert_error(flask_client.get("/whoami", headers=bearer(key)), 503)
    assert flask_client.get("/whoami", headers=BEARER).status_code == 200
