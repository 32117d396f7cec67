"""Who a request is: one `before_request` hook for every route but the public ones (those whose
`@describe` says so) and the dashboard's pages (`@page`: static files that hold no data).

The operator's token or a tenant's key (jobs/api_keys.py) may come in the JSON body (`token`),
the query string (`?token=`) or an `Authorization: Bearer` header; a request carrying several
must carry the same one in each. The token is compared in constant time; a key is checked
against its row (service/tenants.py): an unknown, revoked or expired key, or a wrong token, all
get the same 401. A key that works but lacks the route's right (`@describe(right=...)`) gets a
403. Anywhere else (a job id in the path, a name, a command, a label) the token or key is
refused, as what a request carries travels on to Docker, its logs and its labels (a token has at
least MIN_TOKEN_CHARS, process/config.py: long enough not to turn up there by chance).

The request's actor is `g.actor` (context.actor()) for the handlers. A 401 or 403 answered to a
key that exists is audited (at most once a minute per key and worker).
"""

import hmac
from dataclasses import replace

from flask import Flask, Response, g, request

from quartermaster.jobs import api_keys
from quartermaster.jobs.tenancy import OPERATOR, Actor
from quartermaster.process.config import Config
from quartermaster.web import context
from quartermaster.web.client_address import client_address
from quartermaster.web.describe import ANY_KEY, is_page, operation_of
from quartermaster.web.errors import ApiError
from quartermaster.web.inputs import json_object, parsed_json
from quartermaster.web.schemas.patterns import json_strings


def install_actor_check(app: Flask, config: Config) -> None:
    expected = config.token.encode()
    proxies = config.trusted_proxies

    @app.before_request
    def require_actor():
        if request.routing_exception is not None:
            return  # unknown routes and methods get their own 404/405
        view = app.view_functions.get(request.endpoint or "")
        if is_page(view):
            return
        operation = operation_of(view)
        if operation is not None and operation.is_public(config):
            return
        supplied = tokens_in_request()
        if not supplied:
            if request.is_json and request.get_data():
                json_object()  # a token in a malformed body: say the body is malformed
            raise ApiError(401, "missing token: send it as token in the body, ?token= or Bearer")
        sent = supplied[0]
        if any(other != sent for other in supplied):
            raise ApiError(401, INVALID)
        facts = Actor(None, request_id=g.get("request_id"), address=client_address(proxies))
        g.actor = actor = _actor(sent, expected, facts)
        if token_elsewhere(sent):
            raise ApiError(400, "the token may only be sent as token, ?token= or Bearer")
        refusal = _refusal(actor, operation.right if operation is not None else None)
        if refusal is not None:
            raise ApiError(403, refusal)

    @app.after_request
    def audit_a_keys_refusal(response: Response) -> Response:
        """A 403 answered to a tenant's key is audited (a 401 is, where the key is checked:
        TenantService.actor_of_key), unless what refused it wrote its own entry."""
        actor = g.get("actor")
        refused = response.status_code == 403 and actor is not None and not actor.is_operator
        if refused and not g.get("refusal_audited"):
            route = request.url_rule.rule if request.url_rule else request.path
            context.tenants().note_refused(actor, 403, route)
        return response


INVALID = "invalid token"


def _actor(sent: str, expected: bytes, facts: Actor) -> Actor:
    """The operator, or the key's actor, with the request's facts (`facts`)."""
    if hmac.compare_digest(_utf8(sent), expected):
        return replace(OPERATOR, request_id=facts.request_id, address=facts.address)
    key = api_keys.looks_like_key(sent)
    actor = context.tenants().actor_of_key(sent, facts) if key else None
    if actor is None:
        raise ApiError(401, INVALID)
    return actor


def _refusal(actor: Actor, right: str | None) -> str | None:
    """Why the actor may not take the route that needs `right`; None: it may."""
    if actor.is_operator or right == ANY_KEY:
        return None
    if right is None:
        return "this route takes the operator's token, not a tenant's key"
    if not actor.may(right):
        return f"this key lacks the right: {right}"
    return None


def _utf8(candidate: str) -> bytes:
    # JSON may carry a lone surrogate ("\ud800"): not UTF-8, so a wrong token, never a 500.
    return candidate.encode("utf-8", "surrogatepass")


def token_elsewhere(token: str) -> bool:
    """Whether the token is in the path, a header but Authorization (X-Request-ID is logged,
    Idempotency-Key hashed into a label), another query parameter or another body field."""
    if token in request.path:
        return True
    if any(name != "Authorization" and token in value for name, value in request.headers.items()):
        return True
    if any(key != "token" and token in value for key, value in request.args.items(multi=True)):
        return True
    body = parsed_json()
    if isinstance(body, dict):
        others = {key: value for key, value in body.items() if key != "token"}
        return any(token in text for text in json_strings(others))
    return False


def tokens_in_request() -> list[str]:
    tokens = []
    scheme, _, credentials = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "bearer" and credentials.strip():
        tokens.append(credentials.strip())
    tokens.extend(request.args.getlist("token"))
    body = parsed_json()
    if isinstance(body, dict) and "token" in body:
        tokens.append(body["token"] if isinstance(body["token"], str) else "")
    return tokens
