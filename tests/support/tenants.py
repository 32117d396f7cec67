"""Tenants and keys made over HTTP, as the operator (the unit tier's Flask test client)."""

from support.settings import BEARER


def bearer(key: str) -> dict:
    return {"Authorization": f"Bearer {key}"}


def make_tenant(flask_client, name: str = "team-a", **policy) -> dict:
    response = flask_client.post("/tenants", json={"name": name, **policy}, headers=BEARER)
    assert response.status_code == 201, response.get_data(as_text=True)
    return response.get_json()


def make_key(flask_client, tenant: str, name: str, rights, headers=BEARER, **fields) -> dict:
    body = {"name": name, "rights": list(rights), **fields}
    response = flask_client.post(f"/tenants/{tenant}/keys", json=body, headers=headers)
    assert response.status_code == 201, response.get_data(as_text=True)
    return response.get_json()
