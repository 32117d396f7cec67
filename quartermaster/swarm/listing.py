"""Pages of jobs, newest first, from one list of services and one list of tasks. Pure.

The cursor is the last job's position, its creation time and id: `<time>_<id>`. Clients pass it
back as it came; any text of that form is a position, so the server takes every cursor that its
pattern (in the OpenAPI document) allows.
"""

import re
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field

from .status import NO_DOWN_NODES, JobStatus, job_status, timestamp_key

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000


@dataclass(frozen=True)
class JobQuery:
    statuses: tuple[str, ...] = ()  # empty: any
    labels: dict[str, str] = field(default_factory=dict)
    name: str | None = None
    limit: int = DEFAULT_LIMIT
    after: tuple[str, str] | None = None  # the decoded cursor


@dataclass(frozen=True)
class JobPage:
    jobs: list[JobStatus]
    next_cursor: str | None


def page_of_jobs(
    services: list[dict],
    tasks: list[dict],
    query: JobQuery,
    down_nodes: Mapping[str, str] = NO_DOWN_NODES,
) -> JobPage:
    tasks_of = defaultdict(list)
    for task in tasks:
        tasks_of[task["ServiceID"]].append(task)
    ordered = sorted(services, key=_position, reverse=True)
    if query.after is not None:
        ordered = [service for service in ordered if _position(service) < query.after]
    page: list[tuple[tuple[str, str], JobStatus]] = []
    for service in ordered:
        status = job_status(service, tasks_of[service["ID"]], down_nodes)
        if query.statuses and status.status not in query.statuses:
            continue
        if len(page) == query.limit:  # one more exists: the page ends here, with a cursor
            return JobPage([status for _, status in page], encode_cursor(page[-1][0]))
        page.append((_position(service), status))
    return JobPage([status for _, status in page], None)


def _position(service: dict) -> tuple[str, str]:
    return (timestamp_key(service["CreatedAt"]), service["ID"])


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
