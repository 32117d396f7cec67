"""Pages of jobs, newest first, from one list of services and one list of tasks. Pure.

The cursor is opaque to clients: URL-safe base64 of the last job's (creation time, id).
"""

import base64
import binascii
import json
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


def encode_cursor(position: tuple[str, str]) -> str:
    return base64.urlsafe_b64encode(json.dumps(list(position)).encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[str, str]:
    """The position a cursor stands for; ValueError if it is not one of ours."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        created, service_id = json.loads(raw)
    except (binascii.Error, ValueError, TypeError) as error:
        raise ValueError("not a cursor from /jobs") from error
    if not (isinstance(created, str) and isinstance(service_id, str)):
        raise ValueError("not a cursor from /jobs")
    return (created, service_id)
