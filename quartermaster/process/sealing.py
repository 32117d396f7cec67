"""Sealing what must be kept but never shown: a template's registry credentials, kept in the
store encrypted (Fernet: AES-128-CBC and HMAC-SHA256) under a key derived from SECRET_KEY (or the
file SECRET_KEY_FILE names). Without one, nothing can be sealed, and a template may not keep
credentials. Changing SECRET_KEY makes what was sealed under the old one unreadable: such a
template's dispatch is refused until its `auth` is given again.

cryptography (7 MB in a process) is imported on the first seal or opening, not before: most
workers never keep or read credentials.
"""

import base64
import json
from typing import TYPE_CHECKING

from quartermaster.jobs.errors import InvalidInput

if TYPE_CHECKING:
    from cryptography.fernet import Fernet

# Distinct keys for distinct uses of the one secret.
PURPOSE = b"quartermaster: template credentials"
NO_KEY = "a template may keep registry credentials only when SECRET_KEY is set"
UNREADABLE = (
    "this template's registry credentials were sealed under another SECRET_KEY: give its auth again"
)


class Sealer:
    def __init__(self, secret_key: str | None):
        self._secret_key = secret_key or None
        self._made: Fernet | None = None

    def seal(self, value: dict[str, str]) -> str:
        """`value` sealed; InvalidInput (400, naming `auth`) without SECRET_KEY."""
        return self._fernet().encrypt(json.dumps(value).encode()).decode("ascii")

    def open(self, sealed: str) -> dict[str, str]:
        """What `sealed` holds; InvalidInput (400) when it cannot be read now."""
        from cryptography.fernet import InvalidToken

        fernet = self._fernet()
        try:
            return json.loads(fernet.decrypt(sealed.encode("ascii")))
        except InvalidToken:
            message = f"invalid request: auth: {UNREADABLE}"
            raise InvalidInput(message, {"auth": [UNREADABLE]}) from None

    def _fernet(self) -> "Fernet":
        if self._secret_key is None:
            raise InvalidInput(f"invalid request: auth: {NO_KEY}", {"auth": [NO_KEY]})
        if self._made is None:  # two threads may both make it: the same key either way
            from cryptography.fernet import Fernet

            self._made = Fernet(_derived(self._secret_key))
        return self._made


def _derived(secret_key: str) -> bytes:
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF

    kdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=PURPOSE)
    return base64.urlsafe_b64encode(kdf.derive(secret_key.encode()))
