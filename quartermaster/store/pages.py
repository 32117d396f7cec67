"""The pages of /jobs: newest first, by the keyset (created_at, id), each filter walking an index
already in that order, so a page costs the same whatever the history's size."""

from collections.abc import Sequence

import sqlalchemy as sa

from quartermaster.jobs.query import JobPage, JobQuery, encode_cursor, position_nanos
from quartermaster.jobs.times import timestamp_of
from quartermaster.store.rows import as_status, nanos
from quartermaster.store.schema import job_labels, jobs

# /jobs: a name prefix's jobs are counted up to this many to choose how to walk them, and the
# jobs of each kind of filter (when several are asked) up to COMPARED_ROWS, to choose the one
# whose index drives. (Counts that read the table too, as PostgreSQL's do until VACUUM has
# marked its pages all-visible: about 1 ms per 500 rows.)
PROBE_ROWS = 5000
COMPARED_ROWS = 500
# What a page of /jobs answers with (as_status): never the request, which may be megabytes.
PAGE_COLUMNS = (
    jobs.c.id, jobs.c.name, jobs.c.tenant, jobs.c.image, jobs.c.type, jobs.c.status, jobs.c.state,
    jobs.c.exit_code, jobs.c.error, jobs.c.node_id, jobs.c.created_at, jobs.c.started_at,
    jobs.c.finished_at, jobs.c.completions, jobs.c.succeeded, jobs.c.failed, jobs.c.attempts,
    jobs.c.template, jobs.c.scheduled_for,
)  # fmt: skip


def page_of(connection: sa.Connection, query: JobQuery) -> JobPage:
    """The page `query` asks for, with the cursor of the next one when there is one."""
    rows = page_rows(connection, query)
    cursor = None
    if len(rows) > query.limit:
        rows = rows[: query.limit]
        last = rows[-1]
        cursor = encode_cursor((timestamp_of(last.created_at).rstrip("Z"), last.id))
    return JobPage([as_status(row) for row in rows], cursor)


def page_rows(connection: sa.Connection, query: JobQuery) -> Sequence[sa.Row]:
    """The page's rows and one more (there is a next page when it comes back), walked in page
    order on the index of one filter: of labels, statuses and a name prefix, the one with the
    fewest jobs (each counted up to COMPARED_ROWS on its own index) when several are asked; the
    others are tests of each row that walk gives."""
    labels = list(query.labels.items())
    several = sum(map(bool, (labels, query.statuses, query.name))) > 1
    counts: dict[str, int] = {}
    if len(labels) > 1 or (labels and several):
        jobs_by_label = {
            label: _count(connection, *_label_is(job_labels, *label), up_to=COMPARED_ROWS)
            for label in labels
        }
        labels.sort(key=jobs_by_label.__getitem__)
        counts["labels"] = jobs_by_label[labels[0]]
    if query.statuses and several:
        counts["statuses"] = _count(
            connection, jobs.c.status.in_(query.statuses), up_to=COMPARED_ROWS
        )
    named = 0
    if query.name:
        named = _count(connection, *_name_range(query.name), up_to=PROBE_ROWS)
        if named < PROBE_ROWS:  # many: walked in page order, never better than another's index
            counts["name"] = min(named, COMPARED_ROWS)
    # The fewest; on a tie, the first of labels, statuses, name (exact, then merged, then sorted).
    driver = min(counts, key=counts.__getitem__) if counts else None
    if driver == "labels" or (driver is None and labels):
        return connection.execute(_labelled_page(query, labels)).all()
    if driver == "statuses" or (driver is None and query.statuses):
        return connection.execute(_status_page(query, connection.dialect.name)).all()
    if query.name:
        return _named_page(connection, query, named)
    return connection.execute(_ordered(_filtered(_page_select(), query), query)).all()


def _count(connection: sa.Connection, *conditions: sa.ColumnElement, up_to: int) -> int:
    """How many rows meet the conditions, counted up to `up_to` (on an index)."""
    rows = sa.select(sa.literal(1)).where(*conditions).limit(up_to)
    return connection.execute(sa.select(sa.func.count()).select_from(rows.subquery())).scalar_one()


def _page_select() -> sa.Select:
    return sa.select(*PAGE_COLUMNS)


def _filtered(
    statement: sa.Select,
    query: JobQuery,
    created_at: sa.ColumnElement = jobs.c.created_at,
    job_id: sa.ColumnElement = jobs.c.id,
    *,
    labels: Sequence[tuple[str, str]] = (),
    statuses: bool = False,
    name: bool = False,
) -> sa.Select:
    """The query's filters on the rows an index walk gives: the time and position ones always;
    the labels given, and statuses and name when asked (when no index of theirs drives)."""
    for key, value in labels:
        label = job_labels.alias()
        statement = statement.where(
            sa.exists().where(label.c.job_id == job_id, *_label_is(label, key, value))
        )
    if statuses and query.statuses:
        # A live job's recorded status may be behind the swarm's: live jobs are all read, and
        # the service keeps those whose status as the swarm has it now matches.
        statement = statement.where(
            sa.or_(jobs.c.status.in_(query.statuses), jobs.c.log_captured_at.is_(None))
        )
    if name and query.name:
        statement = statement.where(_name_starts(query.name))
    if query.image:
        statement = statement.where(jobs.c.image == query.image)
    if query.tenant is not None:
        statement = statement.where(jobs.c.tenant == query.tenant)
    if query.template is not None:
        statement = statement.where(jobs.c.template == query.template)
    if query.created_after is not None:
        statement = statement.where(created_at > nanos(query.created_after))
    if query.finished_before is not None:
        before = nanos(query.finished_before)
        # A job finishes after it is created: the walk can start at `before`.
        statement = statement.where(jobs.c.finished_at < before, created_at < before)
    if query.after is not None:
        time, after_id = query.after
        position = sa.tuple_(created_at, job_id) < sa.tuple_(position_nanos(time), after_id)
        statement = statement.where(position)
    return statement


def _ordered(
    statement: sa.Select,
    query: JobQuery,
    created_at: sa.ColumnElement = jobs.c.created_at,
    job_id: sa.ColumnElement = jobs.c.id,
) -> sa.Select:
    return statement.order_by(created_at.desc(), job_id.desc()).limit(query.limit + 1)


def _label_is(table: sa.FromClause, key: str, value: str) -> tuple[sa.ColumnElement, ...]:
    return table.c.key == key, table.c.value == value


def _name_range(prefix: str) -> tuple[sa.ColumnElement, sa.ColumnElement]:
    # Names are ASCII: those starting with the prefix sort between it and it + DEL.
    return jobs.c.name >= prefix, jobs.c.name < prefix + "\x7f"


def _name_starts(prefix: str) -> sa.ColumnElement:
    """The name prefix as a test of each row, not a range of the name index (which a planner
    could take to drive, and then sort what it read)."""
    return sa.func.substr(jobs.c.name, 1, len(prefix)) == prefix


def _labelled_page(query: JobQuery, labels: list[tuple[str, str]]) -> sa.Select:
    """The first label's index drives (in page order: its rows copy the job's creation time);
    the other labels are probes of their job's own."""
    (first_key, first_value), *others = labels
    driver = job_labels.alias("l0")
    statement = (
        _page_select()
        .select_from(driver.join(jobs, jobs.c.id == driver.c.job_id))
        .where(*_label_is(driver, first_key, first_value))
    )
    created_at, job_id = driver.c.created_at, driver.c.job_id
    statement = _filtered(
        statement, query, created_at, job_id, labels=others, statuses=True, name=True
    )
    return _ordered(statement, query, created_at, job_id)


def _named_page(connection: sa.Connection, query: JobQuery, matches: int) -> Sequence[sa.Row]:
    """No index has the jobs of a name prefix in page order: the name index has them by name.
    Few (`matches`, counted on that index, under PROBE_ROWS): their positions come from it,
    sorted here, and the page's rows by id. Many: the walk in page order meets them soon
    enough, when they are spread in time (of 100,000 jobs, 5,000 match: a page of 100 reads
    about 2,000 rows; a prefix whose many jobs are all older than many others is read past
    those)."""
    prefix = query.name or ""
    labels = list(query.labels.items())
    if matches >= PROBE_ROWS:
        walk = _filtered(_page_select(), query, labels=labels, statuses=True, name=True)
        return connection.execute(_ordered(walk, query)).all()
    positions = _filtered(
        sa.select(jobs.c.created_at, jobs.c.id).where(*_name_range(prefix)),
        query,
        labels=labels,
        statuses=True,
    )
    found = ((row.created_at, row.id) for row in connection.execute(positions))
    newest = sorted(found, reverse=True)[: query.limit + 1]
    if not newest:
        return []
    wanted = [job_id for _, job_id in newest]
    rows = {row.id: row for row in connection.execute(_page_select().where(jobs.c.id.in_(wanted)))}
    return [rows[job_id] for job_id in wanted]


def _status_page(query: JobQuery, dialect: str) -> sa.Select:
    """Each status's own index, and the unfinished jobs' (whatever their recorded status: see
    _filtered), merged in page order: disjoint walks, each stopped once the page is full."""
    statuses = sorted(set(query.statuses))
    labels = list(query.labels.items())
    walks = [
        _filtered(_page_select().where(jobs.c.status == status), query, labels=labels, name=True)
        for status in statuses
    ]
    unfinished = _page_select().where(
        jobs.c.log_captured_at.is_(None), jobs.c.status.not_in(statuses)
    )
    walks.append(_filtered(unfinished, query, labels=labels, name=True))
    if dialect == "postgresql":
        # It merges ordered walks of a union's members only when each is a query of its own
        # (SQLite, only when none is: it would sort each again).
        walks = [sa.select(_ordered(walk, query).subquery()) for walk in walks]
    merged = sa.union_all(*walks).subquery("page")
    return _ordered(sa.select(merged), query, merged.c.created_at, merged.c.id)
