"""GET /whoami: who the sent token or key is."""

from flask import Blueprint
from flask.typing import ResponseReturnValue

from quartermaster.jobs.tenancy import RIGHTS
from quartermaster.jobs.times import NANO, timestamp_of
from quartermaster.web import context
from quartermaster.web.describe import ANY_KEY, describe
from quartermaster.web.schemas.tenancy import WhoamiResponse

blueprint = Blueprint("whoami", __name__)
RESPONSE = WhoamiResponse()


@blueprint.get("/whoami")
@describe(
    summary="Who the sent token or key is: the operator, or a tenant's key, its rights and "
    "its tenant's policy",
    response=WhoamiResponse,
    errors=(503,),
    right=ANY_KEY,
)
def whoami() -> ResponseReturnValue:
    actor = context.actor()
    expires_at = None
    if actor.expires_at is not None:
        expires_at = timestamp_of(round(actor.expires_at * NANO))
    return RESPONSE.dump(
        {
            "operator": actor.is_operator,
            "tenant": actor.tenant,
            "key": actor.key_name,
            "rights": [right for right in RIGHTS if actor.may(right)],
            "expires_at": expires_at,
            "policy": context.tenants().policy_of(actor),
        }
    )
