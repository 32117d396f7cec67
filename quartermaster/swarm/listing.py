"""Pages of jobs, newest first, from one list of services and one list of tasks. Pure."""

from collections import defaultdict
from collections.abc import Mapping

from quartermaster.jobs.query import JobPage, JobQuery, encode_cursor
from quartermaster.jobs.status import JobStatus
from quartermaster.swarm.status import NO_DOWN_NODES, job_status, timestamp_key


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
