"""Tenants', keys' and /whoami's bodies and answers (jobs/tenancy.py)."""

import re
from collections.abc import Mapping
from typing import Any

from marshmallow import Schema, fields, post_load, validate

from quartermaster.jobs.audit import (
    ACTIONS,
    ACTOR_PATTERN,
    AuditEntry,
    AuditPage,
    AuditQuery,
    decode_cursor,
)
from quartermaster.jobs.audit import CURSOR_PATTERN as AUDIT_CURSOR_PATTERN
from quartermaster.jobs.query import DEFAULT_LIMIT, MAX_LIMIT
from quartermaster.jobs.tenancy import (
    DEFAULT_QUEUED,
    DEFAULT_WEIGHT,
    NAME_ERROR,
    NAME_PATTERN,
    RIGHT_DESCRIPTIONS,
    RIGHTS,
    InUse,
    KeyInfo,
    Tenant,
    TenantChanges,
    TenantPolicy,
    TenantQuota,
    Usage,
)
from quartermaster.jobs.times import NANO, timestamp_of
from quartermaster.web.schemas.documents import document_fields, document_schema
from quartermaster.web.schemas.fields import JsonInteger, QueryInteger, StrictFloat
from quartermaster.web.schemas.patterns import (
    CONSTRAINT_PATTERN,
    MAX_CPUS,
    MAX_IMAGE_LENGTH,
    MAX_MEMORY_MB,
    MAX_SECONDS,
    MIN_CPUS,
    MIN_MEMORY_MB,
    REFERENCE_PATTERN,
)
from quartermaster.web.schemas.requests import QuerySchema, TokenRequest, unix_time
from quartermaster.web.schemas.responses import Answer

MAX_PATTERNS = 32
# An image reference is printable ASCII without spaces; so is a glob of them (*, ?, [...]).
IMAGE_GLOB_PATTERN = re.compile(r"^[!-~]+\Z")
RIGHTS_TEXT = "; ".join(f"{right}: {text}" for right, text in RIGHT_DESCRIPTIONS.items())


def name_field(**options: Any) -> fields.String:
    return fields.String(validate=validate.Regexp(NAME_PATTERN, error=NAME_ERROR), **options)


def _policy_fields() -> dict[str, fields.Field]:
    """TenantPolicy's fields as a body gives them; a ceiling null (or left out) is none."""
    return {
        "images": fields.List(
            fields.String(
                validate=[
                    validate.Length(min=1, max=MAX_IMAGE_LENGTH),
                    validate.Regexp(IMAGE_GLOB_PATTERN, error="printable ASCII, no spaces"),
                ]
            ),
            validate=validate.Length(max=MAX_PATTERNS),
            metadata={"description": "glob patterns on the image reference; empty: any image"},
        ),
        "constraints": fields.List(
            fields.String(
                validate=validate.Regexp(
                    CONSTRAINT_PATTERN, error="must look like node.labels.zone==a (== or !=)"
                )
            ),
            validate=validate.Length(max=MAX_PATTERNS),
            metadata={"description": "placement constraints added to each of its jobs"},
        ),
        "max_memory": JsonInteger(
            allow_none=True,
            validate=validate.Range(min=MIN_MEMORY_MB, max=MAX_MEMORY_MB),
            metadata={"description": "MB: a job's memory at most this"},
        ),
        "max_cpus": StrictFloat(
            allow_none=True,
            allow_nan=False,
            validate=validate.Range(min=MIN_CPUS, max=MAX_CPUS),
            metadata={"description": "a job's cpus at most this (and required)"},
        ),
        "max_timeout": JsonInteger(
            allow_none=True,
            validate=validate.Range(min=1, max=MAX_SECONDS),
            metadata={"description": "seconds: a job's timeout at most this (the default)"},
        ),
    }


def _as_policy_values(data: Mapping[str, Any]) -> dict[str, Any]:
    return {
        key: tuple(value) if key in ("images", "constraints") else value
        for key, value in data.items()
        if key in POLICY_FIELDS
    }


POLICY_FIELDS = frozenset(_policy_fields())
MAX_QUEUED = 1_000_000
MAX_WEIGHT = 1000


class QuotaSchema(Schema):
    """TenantQuota's fields as a body gives them: a cap null (or left out) is none."""

    memory = JsonInteger(
        allow_none=True,
        validate=validate.Range(min=MIN_MEMORY_MB, max=MAX_MEMORY_MB * 1000),
        metadata={"description": "MB: the sum of its live jobs' memory at most this"},
    )
    cpus = StrictFloat(
        allow_none=True,
        allow_nan=False,
        validate=validate.Range(min=MIN_CPUS, max=MAX_CPUS * 1000),
        metadata={"description": "the sum of its live jobs' cpus at most this (each job's "
                  "cpus then required)"},
    )  # fmt: skip
    jobs = JsonInteger(
        allow_none=True,
        validate=validate.Range(min=1, max=MAX_QUEUED),
        metadata={"description": "live jobs at most this; past it a /run is queued"},
    )
    queued = JsonInteger(
        validate=validate.Range(min=0, max=MAX_QUEUED),
        metadata={"description": f"jobs waiting at most (default {DEFAULT_QUEUED}); past it 429"},
    )
    runs_per_minute = JsonInteger(
        allow_none=True,
        validate=validate.Range(min=1, max=MAX_QUEUED),
        metadata={"description": "/run requests in any 60 s at most; past it 429"},
    )


def _quota_fields() -> dict[str, fields.Field]:
    return {
        "quota": fields.Nested(
            QuotaSchema,
            metadata={"description": "what its live jobs may hold at once; past it a job waits"},
        ),
        "weight": JsonInteger(
            validate=validate.Range(min=1, max=MAX_WEIGHT),
            metadata={"description": f"its share of a full swarm (default {DEFAULT_WEIGHT})"},
        ),
    }


class TenantRequest(TokenRequest.from_dict({**_policy_fields(), **_quota_fields()})):  # type: ignore[misc]
    """POST /tenants."""

    name = name_field(required=True)

    @post_load
    def to_tenant(self, data: Mapping[str, Any], **kwargs) -> Tenant:
        quota = TenantQuota(**data.get("quota", {}))
        weight = data.get("weight", DEFAULT_WEIGHT)
        return Tenant(data["name"], TenantPolicy(**_as_policy_values(data)), quota, weight)


class TenantChange(TokenRequest.from_dict({**_policy_fields(), **_quota_fields()})):  # type: ignore[misc]
    """PATCH /tenants/:name: the fields given change (the quota's too, one by one); a ceiling
    or cap given null is lifted."""

    @post_load
    def to_changes(self, data: Mapping[str, Any], **kwargs) -> TenantChanges:
        return TenantChanges(_as_policy_values(data), data.get("quota", {}), data.get("weight"))


class KeyRequest(TokenRequest):
    """POST /tenants/:name/keys."""

    name = name_field(required=True, metadata={"description": "unique in the tenant"})
    rights = fields.List(
        fields.String(validate=validate.OneOf(RIGHTS)),
        required=True,
        validate=validate.Length(min=1, max=len(RIGHTS)),
        metadata={"description": RIGHTS_TEXT},
    )
    expires_in = JsonInteger(
        load_default=None,
        validate=validate.Range(min=1, max=MAX_SECONDS),
        metadata={"description": "seconds until the key stops working; none: never"},
    )


def _tenant_fields() -> dict[str, fields.Field]:
    return {
        "name": fields.String(required=True),
        **document_fields(TenantPolicy),
        "quota": fields.Nested(QuotaDocument, required=True),
        "weight": fields.Integer(required=True),
        "in_use": fields.Nested(
            InUseDocument,
            metadata={"description": "what its jobs hold now, against its quota"},
        ),
        "created_at": fields.String(),
        "updated_at": fields.String(),
    }


QuotaDocument = document_schema(TenantQuota, "QuotaDocument")


class InUseDocument(Schema):
    jobs = fields.Integer(required=True, metadata={"description": "live jobs"})
    memory = fields.Integer(required=True, metadata={"description": "MB its live jobs hold"})
    cpus = fields.Float(required=True, metadata={"description": "cpus its live jobs hold"})
    queued = fields.Integer(required=True, metadata={"description": "jobs waiting"})


def in_use_document(in_use: InUse) -> dict[str, Any]:
    live = in_use.live
    return {"jobs": live.jobs, "memory": live.memory, "cpus": live.cpus, "queued": in_use.queued}


TenantDocument = Schema.from_dict(_tenant_fields(), name="TenantDocument")
TenantResponse = Answer.from_dict(_tenant_fields(), name="TenantResponse")


class TenantsResponse(Answer):
    tenants = fields.List(fields.Nested(TenantDocument))


def tenant_document(tenant: Tenant) -> dict[str, Any]:
    return {
        "name": tenant.name,
        **vars(tenant.policy),
        "quota": vars(tenant.quota),
        "weight": tenant.weight,
        "in_use": None if tenant.in_use is None else in_use_document(tenant.in_use),
        "created_at": tenant.created_at,
        "updated_at": tenant.updated_at,
    }


KeyDocument = document_schema(KeyInfo, "KeyDocument")
KeyResponse = document_schema(KeyInfo, "KeyResponse", Answer)


class NewKeyResponse(KeyResponse):  # type: ignore[misc, valid-type]
    key = fields.String(
        required=True, metadata={"description": "the key's secret: shown here only, once"}
    )


class KeysResponse(Answer):
    keys = fields.List(fields.Nested(KeyDocument))


PolicyDocument = document_schema(TenantPolicy, "PolicyDocument")


class WhoamiResponse(Answer):
    operator = fields.Boolean(required=True)
    tenant = fields.String(allow_none=True)
    key = fields.String(allow_none=True, metadata={"description": "the key's name"})
    rights = fields.List(fields.String())
    expires_at = fields.String(allow_none=True)
    policy = fields.Nested(
        PolicyDocument,
        allow_none=True,
        metadata={"description": "what its tenant's jobs must meet; null: the operator"},
    )


class UsageQuerySchema(QuerySchema):
    """GET /tenants/:name/usage's query string."""

    since = unix_time("UNIX time: the window's start (default: a day before until)")
    until = unix_time("UNIX time: the window's end (default: now; before since: an empty window)")


class UsageResponse(Answer):
    tenant = fields.String(required=True)
    since = fields.String(required=True, metadata={"description": "the window's start"})
    until = fields.String(required=True, metadata={"description": "the window's end"})
    jobs = fields.Dict(
        keys=fields.String(),
        values=fields.Integer(),
        required=True,
        metadata={"description": "its jobs made in the window, by status"},
    )
    run_seconds = fields.Float(
        required=True,
        metadata={"description": "its runs' time in the window (from the starts the reaper saw)"},
    )
    memory_mb_seconds = fields.Float(
        required=True, metadata={"description": "MB·s: each run's time times its memory"}
    )
    cpu_seconds = fields.Float(
        required=True, metadata={"description": "each run's time times its cpus"}
    )
    in_use = fields.Nested(InUseDocument, required=True)


def usage_document(usage: Usage) -> dict[str, Any]:
    return {
        "tenant": usage.tenant,
        "since": timestamp_of(round(usage.since * NANO)),
        "until": timestamp_of(round(usage.until * NANO)),
        "jobs": usage.jobs,
        "run_seconds": round(usage.run_seconds, 3),
        "memory_mb_seconds": round(usage.memory_mb_seconds, 3),
        "cpu_seconds": round(usage.cpu_seconds, 3),
        "in_use": in_use_document(InUse(usage.live, usage.queued)),
    }


class AuditQuerySchema(QuerySchema):
    """GET /audit's query string."""

    tenant = name_field(
        load_default=None,
        metadata={"description": "entries whose actor or target is of this tenant"},
    )
    actor = fields.String(
        load_default=None,
        validate=validate.Regexp(ACTOR_PATTERN, error="operator, or <tenant>/<key>"),
    )
    action = fields.String(load_default=None, validate=validate.OneOf(ACTIONS))
    target = fields.String(
        load_default=None,
        validate=validate.Regexp(REFERENCE_PATTERN, error="a job id, a tenant or key name"),
    )
    since = unix_time("UNIX time: entries from it on")
    until = unix_time("UNIX time: entries before it")
    limit = QueryInteger(load_default=DEFAULT_LIMIT, validate=validate.Range(min=1, max=MAX_LIMIT))
    cursor = fields.String(
        load_default=None,
        validate=validate.Regexp(AUDIT_CURSOR_PATTERN, error="not a cursor from /audit"),
        metadata={"description": "next_cursor of the previous page"},
    )

    @post_load
    def to_audit_query(self, data: Mapping[str, Any], **kwargs) -> AuditQuery:
        cursor = data["cursor"]
        return AuditQuery(
            tenant=data["tenant"],
            actor=data["actor"],
            action=data["action"],
            target=data["target"],
            since=data["since"],
            until=data["until"],
            limit=data["limit"],
            after=decode_cursor(cursor) if cursor else None,
        )


AuditDocument = document_schema(AuditEntry, "AuditDocument")
AuditResponse = document_schema(
    AuditPage, "AuditResponse", Answer, nested={AuditEntry: AuditDocument}
)
