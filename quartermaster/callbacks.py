"""Callbacks: POST a finished job's /status document to the URL its client gave.

No Docker here. The body is signed with HMAC-SHA256 when a secret is configured, redirects are
never followed, and timeouts are short, so a slow or hostile receiver costs one bounded attempt.
"""

import hashlib
import hmac
import json
from dataclasses import dataclass
from urllib.parse import urlsplit

import requests

SIGNATURE_HEADER = "X-Quartermaster-Signature"
JOB_HEADER = "X-Quartermaster-Job"
TIMEOUTS = (3.0, 5.0)  # seconds to connect, seconds between bytes of the answer


@dataclass(frozen=True)
class Delivery:
    delivered: bool
    detail: str  # "HTTP 204", "ConnectTimeout", ...: for logs, never containing the body


def callback_host_allowed(url: str, allowed_hosts: tuple[str, ...]) -> bool:
    host = (urlsplit(url).hostname or "").lower()
    return host in {allowed.lower() for allowed in allowed_hosts}


def sign(body: bytes, secret: str) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def deliver(
    url: str, document: dict, *, secret: str | None, allowed_hosts: tuple[str, ...]
) -> Delivery:
    if allowed_hosts and not callback_host_allowed(url, allowed_hosts):
        return Delivery(False, "host not in CALLBACK_HOSTS")
    body = json.dumps(document, separators=(",", ":")).encode()
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "quartermaster",
        JOB_HEADER: document["id"],
    }
    if secret:
        headers[SIGNATURE_HEADER] = sign(body, secret)
    try:
        response = requests.post(
            url, data=body, headers=headers, timeout=TIMEOUTS, allow_redirects=False
        )
        response.close()
    except requests.RequestException as error:
        return Delivery(False, type(error).__name__)
    return Delivery(200 <= response.status_code < 300, f"HTTP {response.status_code}")


def printable_url(url: str) -> str:
    """The URL without its query and credentials, for logs."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname}{f':{parts.port}' if parts.port else ''}{parts.path}"
