"""A history to page through with every /jobs filter, what each page must hold, and the
statements a page runs (for the plan tests: tests/unit/test_record_store.py on SQLite,
tests/lab/test_store_postgres.py on PostgreSQL)."""

import re
from collections.abc import Iterator
from dataclasses import dataclass, replace

import sqlalchemy as sa

from quartermaster.jobs.query import JobQuery, decode_cursor
from quartermaster.jobs.status import JobStatus
from quartermaster.jobs.times import timestamp_of
from quartermaster.store import RecordStore

START = 1_795_000_000  # UNIX time of the first job
NAMES = ("nightly-build", "nightly-report", "hourly", "adhoc")
# Of each 8 jobs: finished so, or (None) still live with a stale recorded status.
OUTCOMES = ("complete", "failed", "complete", None, "shutdown", "complete", "lost", None)
JOBS = 48
LIVE_STATUS = "pending"  # what a live job's record says
TEMPLATES = ("nightly", None, "sync", None, None)  # what each was made from, in a cycle


@dataclass(frozen=True)
class SeededJob:
    status: JobStatus
    labels: dict[str, str]
    finished: bool

    def matches(self, query: JobQuery) -> bool:
        job = self.status
        created = START + int(job.id[1:4])
        finished = created + 5 if self.finished else None
        return (
            (not query.statuses or job.status in query.statuses or not self.finished)
            and all(self.labels.get(key) == value for key, value in query.labels.items())
            and (query.name is None or job.name.startswith(query.name))
            and (query.image is None or job.image == query.image)
            and (query.template is None or job.template == query.template)
            and (query.created_after is None or created > query.created_after)
            and (
                query.finished_before is None
                or (finished is not None and finished < query.finished_before)
            )
        )


def seed_history(store: RecordStore, now: float) -> list[SeededJob]:
    """JOBS jobs a second apart, newest last: names, images, labels and outcomes in cycles of
    different lengths (so every filter and pair of filters matches some and misses others);
    two of each eight jobs still live. Each job's id is "j" and its creation second, padded."""
    seeded = []
    for index in range(JOBS):
        created = START + index
        outcome = OUTCOMES[index % len(OUTCOMES)]
        status = JobStatus(
            id=f"j{index:03d}" + "x" * 21,
            name=f"{NAMES[index % len(NAMES)]}-{index}",
            tenant=None,
            image=("busybox", "alpine", "busybox:1")[index % 3],
            type="service",
            status=LIVE_STATUS,
            state="new",
            exit_code=None,
            error=None,
            node=None,
            created_at=timestamp_of(created * 10**9),
            started_at=None,
            finished_at=None,
            completions=1,
            succeeded=0,
            failed=0,
            attempts=0,
            template=TEMPLATES[index % len(TEMPLATES)],
            scheduled_for=timestamp_of(created * 10**9) if index % 2 else None,
        )
        labels = {"team": f"t{index % 3}", "env": "prod" if index % 5 < 2 else "dev"}
        if index % 7 == 0:
            labels["rare"] = "yes"
        store.add(status, {"labels": labels}, 3600, now)
        if outcome is not None:
            status = replace(
                status,
                status=outcome,
                state=outcome,
                finished_at=timestamp_of((created + 5) * 10**9),
            )
            store.finish(status, [], False, now)
        seeded.append(SeededJob(status, labels, outcome is not None))
    return seeded


# Every filter alone, and the pairs the dashboard makes (status, label and name together).
QUERIES = [
    JobQuery(),
    JobQuery(statuses=("failed",)),
    JobQuery(statuses=("lost",)),
    JobQuery(statuses=("pending",)),
    JobQuery(statuses=("failed", "shutdown")),
    JobQuery(labels={"team": "t1"}),
    JobQuery(labels={"team": "t1", "rare": "yes"}),
    JobQuery(labels={"env": "prod", "team": "t2", "rare": "yes"}),
    JobQuery(name="nightly"),
    JobQuery(name="nightly-r"),
    JobQuery(name="hourly-4"),
    JobQuery(name="nosuch"),
    JobQuery(image="alpine"),
    JobQuery(template="nightly"),
    JobQuery(template="nosuch"),
    JobQuery(template="sync", statuses=("complete",)),
    JobQuery(created_after=START + 20),
    JobQuery(finished_before=START + 30),
    JobQuery(statuses=("complete",), labels={"team": "t0"}),
    JobQuery(statuses=("complete",), name="nightly"),
    JobQuery(labels={"env": "dev"}, name="adhoc"),
    JobQuery(statuses=("failed",), labels={"env": "prod"}, name="nightly"),
    JobQuery(image="busybox", statuses=("complete",), created_after=START + 10),
]


def may_walk_the_whole_order(query: JobQuery, probe_rows: int) -> bool:
    """Whether a page may walk the index of every job in page order: with no filter that has
    an index of its own, or for a name prefix of many jobs (PROBE_ROWS or more: it meets them
    soon); never for labels or statuses, whose own indexes drive."""
    if query.labels or (query.statuses and not query.name):
        return False
    return not query.name or probe_rows < JOBS


def pages(store: RecordStore, query: JobQuery) -> Iterator[list[str]]:
    """The ids of each page, walking the cursors to the end."""
    while True:
        page = store.page(query)
        yield [job.id for job in page.jobs]
        if page.next_cursor is None:
            return
        query = replace(query, after=decode_cursor(page.next_cursor))


def expected_ids(seeded: list[SeededJob], query: JobQuery) -> list[str]:
    return [job.status.id for job in reversed(seeded) if job.matches(query)]


def page_statements(store: RecordStore, query: JobQuery) -> list[tuple[str, object]]:
    """The SQL statements (and their parameters) store.page(query) runs."""
    engine = store._connection.ready()
    statements: list[tuple[str, object]] = []

    def record(_connection, _cursor, statement, parameters, _context, _many) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            statements.append((statement, parameters))

    sa.event.listen(engine, "before_cursor_execute", record)
    try:
        store.page(query)
    finally:
        sa.event.remove(engine, "before_cursor_execute", record)
    return statements


def selects_request(statement: str) -> bool:
    """The statement reads the jobs' request column (not request_hash)."""
    return re.search(r"\brequest\b", statement) is not None
