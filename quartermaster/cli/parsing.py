"""What the command line gives, made into what the API takes."""

import base64
import json
import os
import re
import time
from collections.abc import Iterable, Mapping
from datetime import datetime
from pathlib import Path

import click

_DURATION = re.compile(r"(\d+(?:\.\d+)?)([smhd])\Z")
_SECONDS_PER = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def key_values(pairs: Iterable[str], option: str) -> dict[str, str]:
    """`K=V` pairs as a mapping; a pair without `=` is refused."""
    found = {}
    for pair in pairs:
        key, separator, value = pair.partition("=")
        if not separator or not key:
            raise click.BadParameter(f"{pair!r} is not KEY=VALUE", param_hint=option)
        found[key] = value
    return found


def environment(pairs: Iterable[str], caller_env: Mapping[str, str] = os.environ) -> dict:
    """`-e K=V` as given; `-e K` takes K's value from the caller's environment (left out when the
    caller has no K), as `docker run -e` does."""
    found = {}
    for pair in pairs:
        if "=" in pair:
            found.update(key_values([pair], "-e"))
        elif pair in caller_env:
            found[pair] = caller_env[pair]
    return found


def registry_auth(path: Path) -> str:
    """The API's `auth`: base64 of the Docker auth object a JSON file holds."""
    try:
        document = json.loads(path.read_text())
    except (OSError, ValueError) as error:
        raise click.BadParameter(str(error), param_hint="--registry-auth-file") from None
    if not isinstance(document, dict) or not {"username", "password"} <= document.keys():
        raise click.BadParameter(
            "must hold a JSON object with username and password",
            param_hint="--registry-auth-file",
        )
    return base64.b64encode(json.dumps(document).encode()).decode()


def since_time(text: str, now: float | None = None) -> float:
    """`--since`: UNIX seconds, a duration back from now (`90s`, `10m`, `2h`, `1d`), or an
    RFC 3339 time (`2026-11-27T10:00:00Z`)."""
    now = time.time() if now is None else now
    duration = _DURATION.match(text)
    if duration:
        return max(0.0, now - float(duration[1]) * _SECONDS_PER[duration[2]])
    try:
        return float(text)
    except ValueError:
        pass
    try:
        return datetime.fromisoformat(text).timestamp()
    except ValueError:
        raise click.BadParameter(
            "not a UNIX time, a duration (10m) or an RFC 3339 time", param_hint="--since"
        ) from None
