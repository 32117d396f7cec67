"""A tenant's key as its holder sends it, and what the store keeps of it.

A key reads `qm_<id>_<secret>`: the fixed prefix lets secret scanners find a leaked one; `id` (16
hex digits) finds its row in one indexed read, never by hashing against every stored key;
`secret` is 256 random bits (43 characters of URL-safe base64). The store keeps only the secret's
SHA-256: a hash of 256 random bits needs no salt or stretching (nothing to guess), and it is
compared in constant time. The secret is shown once, when the key is made.
"""

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass

PREFIX = "qm_"
_ID_HEX = 16
_SECRET_BYTES = 32
KEY_PATTERN = re.compile(r"^qm_(?P<id>[0-9a-f]{16})_(?P<secret>[A-Za-z0-9_-]{43})\Z")


@dataclass(frozen=True)
class NewKey:
    key_id: str
    secret_hash: str
    text: str  # the whole key, for its holder alone

    def __repr__(self) -> str:  # never in a log or a traceback's locals
        return f"NewKey(key_id={self.key_id!r})"


def new_key() -> NewKey:
    key_id = secrets.token_hex(_ID_HEX // 2)
    secret = secrets.token_urlsafe(_SECRET_BYTES)
    return NewKey(key_id, secret_hash(secret), f"{PREFIX}{key_id}_{secret}")


def looks_like_key(text: str) -> bool:
    return text.startswith(PREFIX)


def parse_key(text: str) -> tuple[str, str] | None:
    """(id, secret) of a well-formed key; None for anything else."""
    match = KEY_PATTERN.match(text)
    return (match["id"], match["secret"]) if match else None


def secret_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def secret_matches(secret: str, stored_hash: str) -> bool:
    return hmac.compare_digest(secret_hash(secret), stored_hash)
