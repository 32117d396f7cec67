"""GET /audit: the audit trail, newest first (the operator's: every entry; a tenant's key with
the `keys` right: its own tenant's)."""

from flask import Blueprint
from flask.typing import ResponseReturnValue

from quartermaster.jobs.tenancy import KEYS
from quartermaster.web import context
from quartermaster.web.describe import describe
from quartermaster.web.inputs import query_args
from quartermaster.web.schemas.tenancy import AuditQuerySchema, AuditResponse

blueprint = Blueprint("audit", __name__)
QUERY, RESPONSE = AuditQuerySchema(), AuditResponse()


@blueprint.get("/audit")
@describe(
    summary="The audit trail: who did what, when, to what, answered how; newest first",
    query=AuditQuerySchema,
    response=AuditResponse,
    errors=(400, 503),
    right=KEYS,
)
def audit() -> ResponseReturnValue:
    page = context.tenants().audit_page(context.actor(), QUERY.load(query_args()))
    return RESPONSE.dump(page)
