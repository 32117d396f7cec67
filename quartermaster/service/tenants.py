"""The use cases of tenants and their keys (jobs/tenancy.py), who a request's key is, and the
audit trail's reads and refusals (jobs/audit.py; the changes' entries go with the changes).

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
from collections.abc import Callable
from dataclasses import replace

from quartermaster.jobs import api_keys, audit
from quartermaster.jobs.audit import AuditPage, AuditQuery
from quartermaster.jobs.errors import Forbidden, StoreError, TenantConflict, TenantNotFound
from quartermaster.jobs.tenancy import (
    KEYS,
    READ,
    RIGHTS,
    Actor,
    KeyInfo,
    StoredKey,
    Tenant,
    TenantChanges,
    TenantPolicy,
    Usage,
)
from quartermaster.store import RecordStore
from quartermaster.store.audit import AuditStore
from quartermaster.store.tenancy import LAST_USED_SECONDS, NO_TENANT, TenantStore
from quartermaster.store.usage import UsageStore

KEY_CACHE_SECONDS = 1.0
REFUSALS_NOTED_SECONDS = 60.0  # a key's refusals audited at most this often per worker
UNKNOWN = Actor(tenant=None)  # a request whose id and address are not known
KEY_CACHE_SIZE = 4096  # keys (known or not) remembered by a worker: memory stays bounded
OPERATOR_ONLY = "only the operator's token may manage tenants"
LIVE_JOBS = "this tenant has live jobs: stop them (or wait for their end) first"
USAGE_WINDOW_SECONDS = 86400  # /tenants/:name/usage without `since`: the last day


class TenantService:
    def __init__(
        self,
        store: TenantStore,
        records: RecordStore,
        audit_store: AuditStore,
        quota_changed: Callable[[], object] = lambda: None,
    ):
        self._store = store
        self._records = records
        self._audit = audit_store
        self._quota_changed = quota_changed  # admits what of the queues fits now
        self._usage = UsageStore(records.connection)
        self._refusals_noted: dict[str, float] = {}  # tenant/key: when this worker last did
        self._keys: OrderedDict[str, tuple[StoredKey | None, float]] = OrderedDict()
        self._lock = threading.Lock()
        self._used_noted: dict[str, float] = {}  # key id: when this worker last wrote its use

    # -- who the key is ------------------------------------------------------------------------

    def actor_of_key(
        self, text: str, request: Actor = UNKNOWN, now: float | None = None
    ) -> Actor | None:
        """The actor a tenant's key (as sent) stands for, with `request`'s id and address;
        None for any key that does not work (malformed, unknown, wrong secret, expired: one
        answer for each). A key that exists and is refused is audited (note_refused).
        StoreError when the store cannot say."""
        parsed = api_keys.parse_key(text)
        if parsed is None:
            return None
        key_id, secret = parsed
        stored = self._stored_key(key_id)
        if stored is None:
            return None
        now = time.time() if now is None else now
        actor = replace(stored.actor(), request_id=request.request_id, address=request.address)
        expired = stored.expires_at is not None and stored.expires_at <= now
        if expired or not api_keys.secret_matches(secret, stored.secret_hash):
            self.note_refused(actor, 401, None)
            return None
        self._note_used(key_id, now)
        return actor

    def note_refused(self, actor: Actor, code: int, target: str | None) -> None:
        """Audit a 401 or 403 answered to a key that exists: at most once a minute per key and
        worker (a loop must not flood the store), best effort (a refusal is not worth a 503)."""
        now = time.time()
        key = audit.actor_name(actor)
        if not self._first_in(self._refusals_noted, key, now, REFUSALS_NOTED_SECONDS):
            return
        refused = audit.entry(actor, audit.KEY_REFUSED, target, actor.tenant, code)
        with contextlib.suppress(StoreError):
            self._audit.add(refused, now)

    def _first_in(self, noted: dict[str, float], key: str, now: float, seconds: float) -> bool:
        """Whether `key` was not noted in the last `seconds` (it is noted now); `noted` is
        bounded by KEY_CACHE_SIZE."""
        with self._lock:
            if now - noted.get(key, 0.0) < seconds:
                return False
            if len(noted) >= KEY_CACHE_SIZE:
                noted.clear()
            noted[key] = now
            return True

    def audit_page(self, actor: Actor, query: AuditQuery) -> AuditPage:
        """The operator's: every entry; a key with the `keys` right: its tenant's."""
        if not actor.is_operator:
            if not actor.may(KEYS):
                raise Forbidden("this key lacks the right: keys")
            query = replace(query, tenant=actor.tenant)
        return self._audit.page(query)

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
        if not self._first_in(self._used_noted, key_id, now, LAST_USED_SECONDS):
            return
        with contextlib.suppress(StoreError):  # the store is away: the use goes unnoted
            self._store.note_key_used(key_id, now)

    def policy_of(self, actor: Actor) -> TenantPolicy | None:
        """The policy the actor's jobs must meet (/whoami shows it): its tenant's; None for
        the operator."""
        return None if actor.tenant is None else self._store.tenant(actor.tenant).policy

    # -- tenants (the operator's) ------------------------------------------------------------

    def create_tenant(self, actor: Actor, tenant: Tenant) -> Tenant:
        _operator(actor)
        made = audit.entry(actor, audit.TENANT_CREATED, tenant.name, tenant.name, 201)
        return self._store.create_tenant(tenant, time.time(), made)

    def tenants(self, actor: Actor) -> list[Tenant]:
        _operator(actor)
        return self._store.tenants()

    def tenant(self, actor: Actor, name: str) -> Tenant:
        _operator(actor)
        return self._store.tenant(name, in_use=True)

    def update_tenant(self, actor: Actor, name: str, changes: TenantChanges) -> Tenant:
        _operator(actor)
        tenant = changes.applied_to(self._store.tenant(name))
        changed = audit.entry(actor, audit.TENANT_CHANGED, name, name)
        self._store.update_tenant(tenant, time.time(), changed)
        self._quota_changed()  # a quota raised, a weight changed: the queues may move now
        return self._store.tenant(name, in_use=True)

    def usage(self, actor: Actor, name: str, since: float | None, until: float | None) -> Usage:
        """What the tenant's jobs used in [since, until) (default: the last day until now), and
        hold now: the operator's, or its own tenant's key's with `read` (another tenant is one
        that does not exist)."""
        if not actor.is_operator:
            if actor.tenant != name:
                raise TenantNotFound(NO_TENANT)
            if not actor.may(READ):
                raise Forbidden(f"this key lacks the right: {READ}")
        self._store.tenant(name)  # 404 first
        now = time.time()
        until = now if until is None else until
        since = max(0.0, until - USAGE_WINDOW_SECONDS) if since is None else since
        return self._usage.usage(name, since, until, now)

    def delete_tenant(self, actor: Actor, name: str) -> None:
        _operator(actor)
        self._store.tenant(name)  # 404 first
        if self._records.has_live_jobs_of(name):
            raise TenantConflict(LIVE_JOBS)
        removed = audit.entry(actor, audit.TENANT_REMOVED, name, name)
        self._store.delete_tenant(name, time.time(), removed)

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
        made_entry = audit.entry(actor, audit.KEY_CREATED, name, tenant, 201)
        return self._store.add_key(stored, now, made_entry), made.text

    def keys(self, actor: Actor, tenant: str) -> list[KeyInfo]:
        self._managing(actor, tenant)
        return self._store.keys(tenant)

    def revoke_key(self, actor: Actor, tenant: str, name: str) -> None:
        self._managing(actor, tenant)
        revoked = audit.entry(actor, audit.KEY_REVOKED, name, tenant)
        self._store.delete_key(tenant, name, time.time(), revoked)

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
