"""What /jobs asks for, and the page it gets.

The cursor is the last job's position, its creation time and id: `<time>_<id>`. Clients pass it
back as it came; any text of that form is a position, so the server takes every cursor that its
pattern (in the OpenAPI document) allows.
"""

import calendar
import hashlib
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime

from quartermaster.jobs.status import JobStatus

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000


@dataclass(frozen=True)
class JobQuery:
    statuses: tuple[str, ...] = ()  # empty: any
    labels: dict[str, str] = field(default_factory=dict)
    name: str | None = None  # a prefix of the name
    image: str | None = None  # the image as /run was given it
    tenant: str | None = None  # its tenant's jobs only (a tenant's key: always its own)
    template: str | None = None  # the jobs made from this template
    created_after: float | None = None  # UNIX time
    finished_before: float | None = None  # UNIX time; only finished jobs then
    limit: int = DEFAULT_LIMIT
    after: tuple[str, str] | None = None  # the decoded cursor


@dataclass(frozen=True)
class JobPage:
    """A page of /jobs: its fields are the answer's (web/schemas/documents.py derives its
    schema)."""

    jobs: list[JobStatus]
    next_cursor: str | None = field(
        metadata={"description": "pass as cursor for the next page; null: last"}
    )


@dataclass(frozen=True)
class TaggedPage:
    """A page of /jobs and its entity tag; no page when the client's tag is still the page's
    (If-None-Match: a 304, and no call to the swarm)."""

    page: JobPage | None
    tag: str


def page_tag(query: JobQuery, recorded: JobPage) -> str:
    """The entity tag of the page `query` gets, from its records as the store holds them: it
    changes when the page's jobs, their records or its cursor do. A live job's change shows once
    the reaper has recorded it (within a round): the tag is weak."""
    digest = hashlib.sha256(repr((query, recorded)).encode()).hexdigest()[:24]
    return f'W/"{digest}"'


def tag_matches(if_none_match: str, tag: str) -> bool:
    """If-None-Match names `tag` (the weak comparison of RFC 9110, 8.8.3.2), or is `*`."""
    named = {candidate.strip().removeprefix("W/") for candidate in if_none_match.split(",")}
    return "*" in named or tag.removeprefix("W/") in named


# timestamp_key's form of swarm's creation times (UTC, nanoseconds), and a swarm id.
CURSOR_PATTERN = re.compile(
    r"^([0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{9})_([0-9a-z]{1,64})\Z"
)


def encode_cursor(position: tuple[str, str]) -> str:
    return "_".join(position)


def decode_cursor(cursor: str) -> tuple[str, str]:
    """The position a cursor stands for; ValueError if it is not of a cursor's form."""
    match = CURSOR_PATTERN.match(cursor)
    if match is None:
        raise ValueError("not a cursor from /jobs")
    return (match[1], match[2])


def position_nanos(time: str) -> int:
    """A cursor's time in nanoseconds since the epoch, for any time of a cursor's form: fields
    out of range (month 13, a 30th of February, year 0: never from a server) are clamped into
    it; times before 1970 are its start (no job is older), and times past a BIGINT's reach (the
    year 2262) its end."""
    digits = [int(part) for part in re.split(r"[-T:.]", time)]
    year, month, day, hour, minute, second, fraction = digits
    year, month = max(year, 1), min(max(month, 1), 12)
    day = min(max(day, 1), calendar.monthrange(year, month)[1])
    moment = datetime(year, month, day, min(hour, 23), min(minute, 59), min(second, 59), tzinfo=UTC)
    seconds = int(moment.timestamp())
    return min(max(seconds * 10**9 + fraction, 0), 2**63 - 1)
