"""/tenants/:name/keys: a tenant's keys, made (the secret shown once), listed and revoked, by the
operator or by a key of that tenant with the `keys` right."""

from flask import Blueprint
from flask.typing import ResponseReturnValue

from quartermaster.jobs.tenancy import KEYS
from quartermaster.web import context
from quartermaster.web.describe import describe
from quartermaster.web.inputs import json_object, path_name
from quartermaster.web.schemas.responses import Answer
from quartermaster.web.schemas.tenancy import KeyRequest, KeysResponse, NewKeyResponse

blueprint = Blueprint("keys", __name__)
CREATE, MADE, ALL, DONE = KeyRequest(), NewKeyResponse(), KeysResponse(), Answer()


@blueprint.post("/tenants/<name>/keys")
@describe(
    summary="Make a key for the tenant: its secret is in this answer only",
    body=KeyRequest,
    response=NewKeyResponse,
    errors=(400, 404, 409, 413, 415, 503),
    right=KEYS,
    status=201,
)
def create_key(name: str) -> ResponseReturnValue:
    request = CREATE.load(json_object())
    info, secret = context.tenants().create_key(
        context.actor(),
        path_name(name),
        request["name"],
        tuple(request["rights"]),
        request["expires_in"],
    )
    return MADE.dump({**vars(info), "key": secret}), 201


@blueprint.get("/tenants/<name>/keys")
@describe(
    summary="The tenant's keys (never a secret)",
    response=KeysResponse,
    errors=(400, 404, 503),
    right=KEYS,
)
def list_keys(name: str) -> ResponseReturnValue:
    keys = context.tenants().keys(context.actor(), path_name(name))
    return ALL.dump({"keys": keys})


@blueprint.delete("/tenants/<name>/keys/<key>")
@describe(
    summary="Revoke a key (by its name): it stops working everywhere within 2 s",
    response=Answer,
    errors=(400, 404, 503),
    right=KEYS,
)
def revoke_key(name: str, key: str) -> ResponseReturnValue:
    context.tenants().revoke_key(context.actor(), path_name(name), path_name(key, "key"))
    return DONE.dump({})
