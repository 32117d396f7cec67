"""The use cases of tenants and their keys (jobs/tenancy.py), and who a request's key is.

Each takes the actor first. Tenants are the operator's alone. A tenant's keys are the operator's
to manage, or a key's of that tenant holding the `keys` right, which cannot give a key a right it
lacks itself; to any other key, another tenant answers exactly as one that does not exist.

A key is checked against its row, read by the id inside it. A worker keeps what it read for at
most KEY_CACHE_SECONDS: a revoked or expired key (or a removed tenant's) stops working on every
worker and instance within that, plus the time a request takes.
"""

import contextlib
import threading
import time
from collections import OrderedDict
from dataclasses import replace

from quartermaster.jobs import api_keys
from quartermaster.jobs.errors import Forbidden, StoreError, TenantConflict, TenantNotFound
from quartermaster.jobs.tenancy import (
    RIGHTS,
    Actor,
    KeyInfo,
    StoredKey,
    Tenant,
    TenantPolicy,
)
from quartermaster.store import RecordStore
from quartermaster.store.tenancy import NO_TENANT, TenantStore

KEY_CACHE_SECONDS = 1.0
KEY_CACHE_SIZE = 4096  # keys (known or not) remembered by a worker: memory stays bounded
OPERATOR_ONLY = "only the operator's token may manage tenants"
LIVE_JOBS = "this tenant has live jobs: stop them (or wait for their end) first"


class TenantService:
    def __init__(self, store: TenantStore, records: RecordStore):
        self._store = store
        self._records = records
        self._keys: OrderedDict[str, tuple[StoredKey | None, float]] = OrderedDict()
        self._lock = threading.Lock()
        self._used_noted: dict[str, float] = {}  # key id: when this worker last wrote its use

    # -- who the key is ------------------------------------------------------------------------

    def actor_of_key(self, text: str, now: float | None = None) -> Actor | None:
        """The actor a tenant's key (as sent) stands for; None for any key that does not work
        (malformed, unknown, wrong secret, expired: one answer for each). StoreError when the
        store cannot say."""
        parsed = api_keys.parse_key(text)
        if parsed is None:
            return None
        key_id, secret = parsed
        stored = self._stored_key(key_id)
        if stored is None or not api_keys.secret_matches(secret, stored.secret_hash):
            return None
        now = time.time() if now is None else now
        if stored.expires_at is not None and stored.expires_at <= now:
            return None
        self._note_used(key_id, now)
        return stored.actor()

    def _stored_key(self, key_id: str) -> StoredKey | None:
        with self._lock:
            cached = self._keys.get(key_id)
        if cached is not None and time.monotonic() - cached[1] < KEY_CACHE_SECONDS:
            return cached[0]
        stored = self._store.stored_key(key_id)
        with self._lock:
            self._keys[key_id] = (stored, time.monotonic())
            self._keys.move_to_end(key_id)
            while len(self._keys) > KEY_CACHE_SIZE:
                self._keys.popitem(last=False)
        return stored

    def _note_used(self, key_id: str, now: float) -> None:
        """Best effort, at most once a minute per key and worker: a use is not worth a failure."""
        with self._lock:
            if now - self._used_noted.get(key_id, 0.0) < 60:
                return
            self._used_noted[key_id] = now
            if len(self._used_noted) > KEY_CACHE_SIZE:
                self._used_noted.clear()
        with contextlib.suppress(StoreError):  # the store is away: the use goes unnoted
            self._store.note_key_used(key_id, now)

    # -- tenants (the operator's) ------------------------------------------------------------

    def create_tenant(self, actor: Actor, tenant: Tenant) -> Tenant:
        _operator(actor)
        return self._store.create_tenant(tenant, time.time())

    def tenants(self, actor: Actor) -> list[Tenant]:
        _operator(actor)
        return self._store.tenants()

    def tenant(self, actor: Actor, name: str) -> Tenant:
        _operator(actor)
        return self._store.tenant(name)

    def update_tenant(self, actor: Actor, name: str, changes: dict) -> Tenant:
        """`changes`: any of TenantPolicy's fields, with their new values."""
        _operator(actor)
        policy = replace(self._store.tenant(name).policy, **changes)
        return self._store.update_tenant(name, policy, time.time())

    def policy(self, name: str) -> TenantPolicy:
        return self._store.tenant(name).policy

    def delete_tenant(self, actor: Actor, name: str) -> None:
        _operator(actor)
        self._store.tenant(name)  # 404 first
        if self._records.has_live_jobs_of(name):
            raise TenantConflict(LIVE_JOBS)
        self._store.delete_tenant(name)

    # -- keys ----------------------------------------------------------------------------------

    def create_key(
        self,
        actor: Actor,
        tenant: str,
        name: str,
        rights: tuple[str, ...],
        expires_in: int | None,
    ) -> tuple[KeyInfo, str]:
        """The new key and its whole text (shown once)."""
        self._managing(actor, tenant)
        beyond = sorted(set(rights) - actor.rights)
        if beyond:
            message = f"a key cannot give a right it lacks itself: {', '.join(beyond)}"
            raise Forbidden(message, {"rights": [message]})
        now = time.time()
        made = api_keys.new_key()
        stored = StoredKey(
            key_id=made.key_id,
            tenant=tenant,
            name=name,
            rights=tuple(right for right in RIGHTS if right in rights),
            secret_hash=made.secret_hash,
            expires_at=None if expires_in is None else now + expires_in,
        )
        return self._store.add_key(stored, now), made.text

    def keys(self, actor: Actor, tenant: str) -> list[KeyInfo]:
        self._managing(actor, tenant)
        return self._store.keys(tenant)

    def revoke_key(self, actor: Actor, tenant: str, name: str) -> None:
        self._managing(actor, tenant)
        self._store.delete_key(tenant, name)

    @staticmethod
    def _managing(actor: Actor, tenant: str) -> None:
        """Another tenant's keys are a tenant that does not exist, to a key; its own, without
        the `keys` right, a 403."""
        if actor.is_operator:
            return
        if actor.tenant != tenant:
            raise TenantNotFound(NO_TENANT)
        if not actor.manages_keys_of(tenant):
            raise Forbidden("this key lacks the right: keys")


def _operator(actor: Actor) -> None:
    if not actor.is_operator:
        raise Forbidden(OPERATOR_ONLY)
