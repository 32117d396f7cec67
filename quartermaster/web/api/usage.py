"""GET /tenants/:name/usage: what a tenant's jobs used in a window and hold now (the operator's,
or its own tenant's key with `read`)."""

from flask import Blueprint
from flask.typing import ResponseReturnValue

from quartermaster.web import context
from quartermaster.web.describe import ANY_KEY, describe
from quartermaster.web.inputs import path_name, query_args
from quartermaster.web.schemas.tenancy import UsageQuerySchema, UsageResponse, usage_document

blueprint = Blueprint("usage", __name__)
QUERY, RESPONSE = UsageQuerySchema(), UsageResponse()


@blueprint.get("/tenants/<name>/usage")
@describe(
    summary="What a tenant's jobs used in a window (by status, run time, memory and cpu "
    "seconds) and hold now against its quota",
    query=UsageQuerySchema,
    response=UsageResponse,
    errors=(400, 404, 503),
    right=ANY_KEY,
)
def usage(name: str) -> ResponseReturnValue:
    window = QUERY.load(query_args())
    found = context.tenants().usage(
        context.actor(), path_name(name), window["since"], window["until"]
    )
    return RESPONSE.dump(usage_document(found))
