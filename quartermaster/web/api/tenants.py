"""/tenants: the operator makes, reads, changes and removes tenants (jobs/tenancy.py)."""

from flask import Blueprint
from flask.typing import ResponseReturnValue

from quartermaster.web import context
from quartermaster.web.describe import describe
from quartermaster.web.inputs import json_object, path_name
from quartermaster.web.schemas.responses import Answer
from quartermaster.web.schemas.tenancy import (
    TenantChange,
    TenantRequest,
    TenantResponse,
    TenantsResponse,
    tenant_document,
)

blueprint = Blueprint("tenants", __name__)
CREATE, CHANGE = TenantRequest(), TenantChange()
ONE, ALL, DONE = TenantResponse(), TenantsResponse(), Answer()


@blueprint.post("/tenants")
@describe(
    summary="Make a tenant (a team owning jobs) with its policy",
    body=TenantRequest,
    response=TenantResponse,
    errors=(400, 409, 413, 415, 503),
    status=201,
)
def create_tenant() -> ResponseReturnValue:
    tenant = context.tenants().create_tenant(context.actor(), CREATE.load(json_object()))
    return ONE.dump(tenant_document(tenant)), 201


@blueprint.get("/tenants")
@describe(summary="Every tenant, by name", response=TenantsResponse, errors=(503,))
def list_tenants() -> ResponseReturnValue:
    tenants = context.tenants().tenants(context.actor())
    return ALL.dump({"tenants": [tenant_document(tenant) for tenant in tenants]})


@blueprint.get("/tenants/<name>")
@describe(summary="A tenant and its policy", response=TenantResponse, errors=(400, 404, 503))
def show_tenant(name: str) -> ResponseReturnValue:
    tenant = context.tenants().tenant(context.actor(), path_name(name))
    return ONE.dump(tenant_document(tenant))


@blueprint.patch("/tenants/<name>")
@describe(
    summary="Change a tenant's policy (in force for the next /run everywhere within 2 s)",
    body=TenantChange,
    response=TenantResponse,
    errors=(400, 404, 413, 415, 503),
)
def change_tenant(name: str) -> ResponseReturnValue:
    changes = CHANGE.load(json_object())
    tenant = context.tenants().update_tenant(context.actor(), path_name(name), changes)
    return ONE.dump(tenant_document(tenant))


@blueprint.delete("/tenants/<name>")
@describe(
    summary="Remove a tenant and its keys (409 while it has live jobs; its history stays)",
    response=Answer,
    errors=(400, 404, 409, 503),
)
def delete_tenant(name: str) -> ResponseReturnValue:
    context.tenants().delete_tenant(context.actor(), path_name(name))
    return DONE.dump({})
