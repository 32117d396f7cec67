"""What is kept of an Idempotency-Key and of the request it came with: hashes, never the key."""

import hashlib
import json
from dataclasses import asdict
from typing import NamedTuple

from quartermaster.jobs.spec import JobSpec

KEY_REUSED = "this Idempotency-Key was used with a different request"


class KeyHashes(NamedTuple):
    """An Idempotency-Key and its request as they are kept (in the job's labels and its record),
    computed once, by the service, of the request as the client sent it: a retry of the same
    request hashes the same, whatever defaults the server applies."""

    key: str  # key_hash of the Idempotency-Key
    request: str  # request_hash of the request it came with

    @classmethod
    def of(cls, job: JobSpec) -> "KeyHashes | None":
        """The hashes of a request's Idempotency-Key and of the request; None without a key."""
        if not job.idempotency_key:
            return None
        return cls(key_hash(job.idempotency_key, job.tenant), request_hash(job))


def key_hash(idempotency_key: str, tenant: str | None = None) -> str:
    """What is kept of an Idempotency-Key (in its job's label and its claim): never the key.
    A tenant's keys are its own: the same key from two tenants makes two jobs."""
    return _sha256(idempotency_key if tenant is None else f"{tenant}\0{idempotency_key}")


def request_hash(job: JobSpec) -> str:
    """What a request asked for, as a hash; credentials are left out (they never reach a label),
    and so are its tenant (in the key's hash already) and who sent it."""
    fields = asdict(job)
    fields.pop("registry_auth")
    fields.pop("tenant")
    fields.pop("run_by")  # the same request from another of the tenant's keys is the same
    payload = fields.pop("payload")
    if payload is not None:
        fields["payload_sha256"] = hashlib.sha256(payload).hexdigest()
    return _sha256(json.dumps(fields, sort_keys=True))


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()
