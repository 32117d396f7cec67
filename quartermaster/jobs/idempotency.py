"""What is kept of an Idempotency-Key and of the request it came with: hashes, never the key."""

import hashlib
import json
from dataclasses import asdict

from quartermaster.jobs.spec import JobSpec

KEY_REUSED = "this Idempotency-Key was used with a different request"


def key_hash(idempotency_key: str) -> str:
    """What is kept of an Idempotency-Key (in its job's label and its claim): never the key."""
    return _sha256(idempotency_key)


def request_hash(job: JobSpec) -> str:
    """What a request asked for, as a hash; credentials are left out (they never reach a label)."""
    fields = asdict(job)
    fields.pop("registry_auth")
    return _sha256(json.dumps(fields, sort_keys=True))


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()
