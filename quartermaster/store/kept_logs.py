"""Kept logs: a finished job's log as rows of `job_log_chunks` (runs of one stream's lines) and
back, and how many of them one expiry batch deletes."""

from collections.abc import Iterator, Sequence

import sqlalchemy as sa

from quartermaster.jobs.errors import JobNotFound
from quartermaster.jobs.history import LogLine
from quartermaster.store.rows import NO_SUCH_JOB
from quartermaster.store.schema import job_log_chunks, jobs

CHUNK_BYTES = 64 * 1024  # a kept log is written in chunks of about this size, one stream each
EXPIRY_BATCH_LOG_BYTES = 4 * 1024 * 1024  # kept logs a batch deletes at most (a larger one alone)


# Built once: a kept log is read on every archived /logs. From the job's row, so that a record
# without a log (one row, no chunk) is told from no record (no row) in the one statement.
_CHUNKS_OF_A_JOB = (
    sa.select(jobs.c.id, job_log_chunks.c.stream, job_log_chunks.c.data)
    .select_from(jobs.outerjoin(job_log_chunks, job_log_chunks.c.job_id == jobs.c.id))
    .where(jobs.c.id == sa.bindparam("job_id"))
    .order_by(job_log_chunks.c.seq)
)


def log_chunks(connection: sa.Connection, job_id: str) -> list[tuple[int, bytes]]:
    """The job's kept log as (stream, data) runs, in order (history.select_kept reads them);
    JobNotFound if the store has no record of that id."""
    rows = connection.execute(_CHUNKS_OF_A_JOB, {"job_id": job_id}).all()
    if not rows:
        raise JobNotFound(NO_SUCH_JOB)
    return [(stream, data) for _, stream, data in rows if data is not None]


def chunks(job_id: str, lines: list[LogLine]) -> Iterator[dict]:
    """The rows of a kept log: runs of one stream's lines, each up to about CHUNK_BYTES."""
    run: list[LogLine] = []
    seq = size = 0
    for line in lines:
        if run and (line.stream != run[0].stream or size >= CHUNK_BYTES):
            yield _chunk(job_id, seq, run)
            run, seq, size = [], seq + 1, 0
        run.append(line)
        size += len(line.line)
    if run:
        yield _chunk(job_id, seq, run)


def _chunk(job_id: str, seq: int, run: list[LogLine]) -> dict:
    data = b"".join(line.line if line.line.endswith(b"\n") else line.line + b"\n" for line in run)
    return {
        "job_id": job_id,
        "seq": seq,
        "stream": run[0].stream,
        "first_at": run[0].at,
        "last_at": run[-1].at,
        "data": data,
    }


def within_log_budget(rows: Sequence[sa.Row]) -> list[str]:
    """The ids of the first rows whose kept logs add up to EXPIRY_BATCH_LOG_BYTES (one at least)."""
    ids: list[str] = []
    size = 0
    for row in rows:
        size += row.log_bytes
        if ids and size > EXPIRY_BATCH_LOG_BYTES:
            break
        ids.append(row.id)
    return ids
