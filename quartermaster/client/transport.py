"""HTTP to one quartermaster server: its base URL, its token as a Bearer header, one session,
timeouts on every request, and every failure turned into a QuartermasterError.

The token goes only in the `Authorization` header, never in a URL: URLs end up in proxies' logs
and in error messages. No redirect is followed: a 3xx is an error naming where it pointed
(`Redirected`), so a request's body never goes to a server other than the one configured.
"""

import ipaddress
import re
import warnings
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import requests

from quartermaster.client.errors import (
    ConnectionFailed,
    QuartermasterError,
    Redirected,
    error_for,
)

# requests' timeouts: (connect, read) seconds.
Timeout = tuple[float, float | None]
# What urllib3 puts before the reason: "<...Connection object at 0x7f...>: ", "HTTPConnection(host=
# '127.0.0.1', port=1): ".
_PREFIXES = re.compile(r"<[\w.]+ object at 0x[0-9a-f]+>:?\s*|\w+Connection(?:Pool)?\([^)]*\):\s*")


# Servers a token was sent to in clear text already: warned about once in a process.
_warned_in_clear: set[str] = set()


class PlainHttpTokenWarning(UserWarning):
    """The token is about to go over plain http:// to a host other than this one: anyone on the
    way can read it (and then use it). Use https:// (e.g. nginx in front, see deploy/)."""


class Transport:
    def __init__(self, url: str, token: str | None, user_agent: str):
        self.url = url.rstrip("/")
        self.session = requests.Session()
        self.session.headers["User-Agent"] = user_agent
        if token:
            self.session.headers["Authorization"] = f"Bearer {token}"
            warn_if_in_clear(self.url)

    def request(
        self,
        method: str,
        path: str,
        timeout: Timeout,
        *,
        params: Any = None,
        json: Any = None,
        headers: dict[str, str] | None = None,
        stream: bool = False,
    ) -> requests.Response:
        """The answer to one request if it is a success; otherwise its error raised."""
        url = self.url + path
        try:
            response = self.session.request(
                method, url, params=params, json=json, headers=headers, timeout=timeout,
                stream=stream, allow_redirects=False,
            )  # fmt: skip
        except requests.RequestException as error:
            raise no_answer(method, url, error) from None
        if response.status_code < 300:
            return response
        try:
            raise answer_error(response)
        finally:
            response.close()

    def json(self, method: str, path: str, timeout: Timeout, **options: Any) -> dict[str, Any]:
        """The JSON document of a successful answer."""
        response = self.request(method, path, timeout, **options)
        try:
            document = response.json()
        except ValueError:
            raise error_for(response.status_code, None, response.text, None) from None
        if not isinstance(document, dict):
            raise error_for(response.status_code, None, response.text, None)
        return document

    def close(self) -> None:
        self.session.close()


def warn_if_in_clear(url: str) -> None:
    """A PlainHttpTokenWarning, once per server, when a token would go to `url` in clear text
    off this host (loopback, 127.0.0.0/8, ::1 or localhost, never leaves it)."""
    parts = urlsplit(url)
    server = parts.netloc.rpartition("@")[2].lower()
    if parts.scheme != "http" or is_loopback_host(parts.hostname) or server in _warned_in_clear:
        return
    _warned_in_clear.add(server)
    warnings.warn(
        f"the token goes to http://{server} in clear text: anyone on the way can read it; "
        "use https://",
        PlainHttpTokenWarning,
        stacklevel=4,  # the caller's Client(...)
    )


def is_loopback_host(host: str | None) -> bool:
    """`host` (a URL's, without brackets) is this host's loopback: localhost, 127.0.0.0/8, ::1
    (or an IPv4-mapped 127.x)."""
    if host is None:
        return False
    if host.lower().rstrip(".") == "localhost":
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False  # a name: where it leads is not known here
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_loopback


def chunks_of(response: requests.Response, method: str) -> Iterator[bytes]:
    """A streamed answer's body as it arrives; a connection that breaks or falls silent past
    the read timeout raises ConnectionFailed. The response is closed however this ends."""
    try:
        yield from response.iter_content(chunk_size=None)
    except requests.RequestException as error:
        raise no_answer(method, response.url, error) from None
    finally:
        response.close()


def answer_error(response: requests.Response) -> QuartermasterError:
    if response.status_code < 400:  # 3xx (1xx never reach here: requests reads past them)
        return Redirected(
            response.status_code,
            response.headers.get("Location"),
            response.headers.get("X-Request-ID"),
        )
    try:
        document = response.json()
    except ValueError:
        document = None
    error = error_for(
        response.status_code, document, response.text, response.headers.get("X-Request-ID")
    )
    error.retry_after = _seconds(response.headers.get("Retry-After"))
    return error


def no_answer(method: str, url: str, error: requests.RequestException) -> ConnectionFailed:
    """The error of a request that got no (complete) answer, saying where it went and why."""
    if isinstance(error, requests.Timeout):
        reason = "no answer in time"
    else:
        cause = error.args[0] if error.args else error
        reason = _PREFIXES.sub("", str(getattr(cause, "reason", cause)))
    return ConnectionFailed(f"{method} {url.split('?')[0]}: {reason}")


def _seconds(header: str | None) -> float | None:
    try:
        return max(0.0, float(header)) if header else None
    except ValueError:
        return None  # an HTTP date: quartermaster sends seconds
