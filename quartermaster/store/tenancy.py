"""Tenants and their keys in the store (jobs/tenancy.py, jobs/api_keys.py): a key is read by the
id inside it, one indexed row; only its secret's hash is kept."""

from dataclasses import replace
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from quartermaster.jobs.audit import AuditEntry
from quartermaster.jobs.errors import TenantConflict, TenantNotFound
from quartermaster.jobs.tenancy import (
    InUse,
    KeyInfo,
    StoredKey,
    Tenant,
    TenantPolicy,
    TenantQuota,
)
from quartermaster.jobs.times import NANO, timestamp_of
from quartermaster.store.audit import insert_entry
from quartermaster.store.connection import StoreConnection
from quartermaster.store.holdings import live_footprint, queued_count
from quartermaster.store.rows import nanos
from quartermaster.store.schema import api_keys, template_ticks, templates, tenants

NO_TENANT = "no such tenant"
NO_KEY = "no such key"
TENANT_TAKEN = "a tenant of that name exists"
KEY_TAKEN = "this tenant has a key of that name: revoke it first, or choose another name"
# A key's use is written at most this often (each use would be a write on every request).
LAST_USED_SECONDS = 60


class TenantStore:
    def __init__(self, connection: StoreConnection):
        self._connection = connection

    # -- tenants -------------------------------------------------------------------------------

    def create_tenant(self, tenant: Tenant, now: float, entry: AuditEntry) -> Tenant:
        at = nanos(now)
        try:
            with self._connection.writing() as connection:
                connection.execute(
                    tenants.insert().values(
                        name=tenant.name, **_tenant_columns(tenant), created_at=at, updated_at=at
                    )
                )  # fmt: skip
                insert_entry(connection, entry, at)
        except IntegrityError as error:
            raise TenantConflict(TENANT_TAKEN) from error
        return self.tenant(tenant.name, in_use=True)

    def tenants(self) -> list[Tenant]:
        """Every tenant, with what its jobs hold now."""
        with self._connection.reading() as connection:
            rows = connection.execute(tenants.select().order_by(tenants.c.name)).all()
            return [_with_in_use(connection, tenant_of(row)) for row in rows]

    def any_tenant(self) -> bool:
        """Whether a tenant is defined (then every job is admitted: jobs/fair_share.py)."""
        with self._connection.reading() as connection:
            return connection.execute(sa.select(tenants.c.name).limit(1)).first() is not None

    def tenant(self, name: str, in_use: bool = False) -> Tenant:
        """The tenant (`in_use`: with what its jobs hold now)."""
        with self._connection.reading() as connection:
            row = connection.execute(tenants.select().where(tenants.c.name == name)).first()
            if row is None:
                raise TenantNotFound(NO_TENANT)
            found = tenant_of(row)
            return _with_in_use(connection, found) if in_use else found

    def update_tenant(self, tenant: Tenant, now: float, entry: AuditEntry) -> Tenant:
        """The tenant's policy, quota and weight become `tenant`'s."""
        with self._connection.writing() as connection:
            changed = connection.execute(
                tenants.update()
                .where(tenants.c.name == tenant.name)
                .values(**_tenant_columns(tenant), updated_at=nanos(now))
            ).rowcount
            if not changed:
                raise TenantNotFound(NO_TENANT)
            insert_entry(connection, entry, nanos(now))
        return self.tenant(tenant.name, in_use=True)

    def delete_tenant(self, name: str, now: float, entry: AuditEntry) -> None:
        """The tenant, its keys, its templates and their ticks (its jobs' records stay, owned by
        its name)."""
        with self._connection.writing() as connection:
            connection.execute(api_keys.delete().where(api_keys.c.tenant == name))
            connection.execute(templates.delete().where(templates.c.owner == name))
            connection.execute(template_ticks.delete().where(template_ticks.c.owner == name))
            deleted = connection.execute(tenants.delete().where(tenants.c.name == name)).rowcount
            if not deleted:
                raise TenantNotFound(NO_TENANT)
            insert_entry(connection, entry, nanos(now))

    # -- keys ----------------------------------------------------------------------------------

    def add_key(self, key: StoredKey, now: float, entry: AuditEntry) -> KeyInfo:
        expires_at = None if key.expires_at is None else nanos(key.expires_at)
        try:
            with self._connection.writing() as connection:
                if not connection.execute(
                    sa.select(tenants.c.name).where(tenants.c.name == key.tenant)
                ).first():
                    raise TenantNotFound(NO_TENANT)
                connection.execute(
                    api_keys.insert().values(
                        id=key.key_id,
                        tenant=key.tenant,
                        name=key.name,
                        rights=list(key.rights),
                        secret_hash=key.secret_hash,
                        created_at=nanos(now),
                        expires_at=expires_at,
                    )
                )
                insert_entry(connection, entry, nanos(now))
        except IntegrityError as error:
            raise TenantConflict(KEY_TAKEN) from error
        return self._key_info(key.tenant, key.name)

    def keys(self, tenant: str) -> list[KeyInfo]:
        """The tenant's keys, by name (TenantNotFound without the tenant)."""
        with self._connection.reading() as connection:
            if not connection.execute(
                sa.select(tenants.c.name).where(tenants.c.name == tenant)
            ).first():
                raise TenantNotFound(NO_TENANT)
            rows = connection.execute(
                api_keys.select().where(api_keys.c.tenant == tenant).order_by(api_keys.c.name)
            ).all()
        return [_key_info(row) for row in rows]

    def _key_info(self, tenant: str, name: str) -> KeyInfo:
        with self._connection.reading() as connection:
            row = connection.execute(
                api_keys.select().where(api_keys.c.tenant == tenant, api_keys.c.name == name)
            ).first()
        if row is None:
            raise TenantNotFound(NO_KEY)
        return _key_info(row)

    def delete_key(self, tenant: str, name: str, now: float, entry: AuditEntry) -> None:
        with self._connection.writing() as connection:
            deleted = connection.execute(
                api_keys.delete().where(api_keys.c.tenant == tenant, api_keys.c.name == name)
            ).rowcount
            if not deleted:
                raise TenantNotFound(NO_KEY)
            insert_entry(connection, entry, nanos(now))

    def stored_key(self, key_id: str) -> StoredKey | None:
        """The key with that id, to check a request's against; None: no such key."""
        with self._connection.reading() as connection:
            row = connection.execute(api_keys.select().where(api_keys.c.id == key_id)).first()
        if row is None:
            return None
        return StoredKey(
            key_id=row.id,
            tenant=row.tenant,
            name=row.name,
            rights=tuple(row.rights),
            secret_hash=row.secret_hash,
            expires_at=None if row.expires_at is None else row.expires_at / NANO,
        )

    def note_key_used(self, key_id: str, now: float) -> None:
        """The key was used now; written only when its last use is LAST_USED_SECONDS old."""
        at = nanos(now)
        stale = at - LAST_USED_SECONDS * NANO
        with self._connection.writing() as connection:
            connection.execute(
                api_keys.update()
                .where(
                    api_keys.c.id == key_id,
                    sa.or_(api_keys.c.last_used_at.is_(None), api_keys.c.last_used_at < stale),
                )
                .values(last_used_at=at)
            )


def _tenant_columns(tenant: Tenant) -> dict[str, Any]:
    policy = tenant.policy
    return {
        "images": list(policy.images),
        "constraints": list(policy.constraints),
        "max_memory": policy.max_memory,
        "max_cpus": policy.max_cpus,
        "max_timeout": policy.max_timeout,
        "quota": vars(tenant.quota),
        "weight": tenant.weight,
    }


def tenant_of(row: sa.Row) -> Tenant:
    policy = TenantPolicy(
        images=tuple(row.images),
        constraints=tuple(row.constraints),
        max_memory=row.max_memory,
        max_cpus=row.max_cpus,
        max_timeout=row.max_timeout,
    )
    return Tenant(
        row.name,
        policy,
        TenantQuota(**(row.quota or {})),
        row.weight,
        timestamp_of(row.created_at),
        timestamp_of(row.updated_at),
    )


def _with_in_use(connection: sa.Connection, tenant: Tenant) -> Tenant:
    held = InUse(live_footprint(connection, tenant.name), queued_count(connection, tenant.name))
    return replace(tenant, in_use=held)


def _key_info(row: sa.Row) -> KeyInfo:
    return KeyInfo(
        name=row.name,
        tenant=row.tenant,
        rights=tuple(row.rights),
        created_at=timestamp_of(row.created_at),
        expires_at=None if row.expires_at is None else timestamp_of(row.expires_at),
        last_used_at=None if row.last_used_at is None else timestamp_of(row.last_used_at),
    )
