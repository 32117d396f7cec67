"""The audit trail: who did what, when, to what, and what they were answered. Pure.

An entry is written with the change it records, in the same transaction (store/audit.py): no job,
stop, tenant or key change exists without its entry. Refusals change nothing; those of a /run by
a tenant's policy, and 401s and 403s answered to keys that exist, are written alone (the latter at
most once a minute per key and worker, so that a loop cannot flood the store). An entry never
holds a secret, an env value or a registry credential: only names, ids and codes.
"""

import re
from dataclasses import dataclass, field, replace

from quartermaster.jobs.tenancy import Actor

RUN = "run"
RUN_REFUSED = "run_refused"  # by the tenant's policy (403)
STOP = "stop"
TENANT_CREATED = "tenant_created"
TENANT_CHANGED = "tenant_changed"
TENANT_REMOVED = "tenant_removed"
KEY_CREATED = "key_created"
KEY_REVOKED = "key_revoked"
KEY_REFUSED = "key_refused"  # a 401 or 403 answered to a key that exists
TEMPLATE_CREATED = "template_created"
TEMPLATE_CHANGED = "template_changed"
TEMPLATE_REMOVED = "template_removed"
ACTIONS = (
    RUN, RUN_REFUSED, STOP, TENANT_CREATED, TENANT_CHANGED, TENANT_REMOVED, KEY_CREATED,
    KEY_REVOKED, KEY_REFUSED, TEMPLATE_CREATED, TEMPLATE_CHANGED, TEMPLATE_REMOVED,
)  # fmt: skip
OPERATOR_NAME = "operator"
# /audit?actor=: `operator`, or `<tenant>/<key>`.
ACTOR_PATTERN = re.compile(r"^(operator|[a-z0-9][a-z0-9-]{0,62}/[a-z0-9][a-z0-9-]{0,62})\Z")


@dataclass(frozen=True)
class AuditEntry:
    """An entry as /audit shows it; `id` and `at` are the store's."""

    id: int | None
    at: str | None  # RFC 3339
    actor: str = field(metadata={"description": "operator, or <tenant>/<key name>"})
    tenant: str | None = field(metadata={"description": "the actor's tenant; null: operator"})
    action: str = field(metadata={"enum": ACTIONS})
    target: str | None = field(metadata={"description": "a job id, tenant or key name, route"})
    target_tenant: str | None = field(metadata={"description": "the tenant the target is of"})
    code: int = field(metadata={"description": "the HTTP status answered"})
    request_id: str | None
    client: str | None = field(metadata={"description": "the client's address"})


def actor_name(actor: Actor) -> str:
    return OPERATOR_NAME if actor.is_operator else f"{actor.tenant}/{actor.key_name}"


def actor_named(name: str) -> Actor:
    """The actor actor_name gave `name` (its rights and request facts unknown)."""
    if name == OPERATOR_NAME:
        return Actor(tenant=None)
    tenant, _, key_name = name.partition("/")
    return Actor(tenant=tenant, key_name=key_name)


def entry(
    actor: Actor, action: str, target: str | None, target_tenant: str | None, code: int = 200
) -> AuditEntry:
    """The entry of `actor`'s request doing `action` to `target` (of `target_tenant`)."""
    return AuditEntry(
        id=None,
        at=None,
        actor=actor_name(actor),
        tenant=actor.tenant,
        action=action,
        target=target,
        target_tenant=target_tenant,
        code=code,
        request_id=actor.request_id,
        client=actor.address,
    )


def answered(audit_entry: AuditEntry, code: int) -> AuditEntry:
    return replace(audit_entry, code=code)


@dataclass(frozen=True)
class AuditQuery:
    tenant: str | None = None  # entries whose actor or target is of this tenant
    actor: str | None = None  # `operator` or `<tenant>/<key>`
    action: str | None = None
    target: str | None = None
    since: float | None = None  # UNIX time
    until: float | None = None
    limit: int = 100
    after: tuple[int, int] | None = None  # (at in nanoseconds, id): the cursor


@dataclass(frozen=True)
class AuditPage:
    entries: list[AuditEntry]
    next_cursor: str | None = field(
        metadata={"description": "pass as cursor for the next page; null: last"}
    )


def encode_cursor(at: int, entry_id: int) -> str:
    return f"{at}_{entry_id}"


CURSOR_PATTERN = re.compile(r"^([0-9]{1,19})_([0-9]{1,19})\Z")


def decode_cursor(cursor: str) -> tuple[int, int]:
    match = CURSOR_PATTERN.match(cursor)
    if match is None:
        raise ValueError("not a cursor from /audit")
    # Past the largest the store holds (a 64-bit integer): the same place, the end.
    return min(int(match[1]), MAX_POSITION), min(int(match[2]), MAX_POSITION)


MAX_POSITION = 2**63 - 1
