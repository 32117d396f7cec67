"""Kept logs: a finished job's log as rows of `job_log_chunks` (runs of one stream's lines) and
back, and how many of them one expiry batch deletes."""

from collections.abc import Iterator, Sequence

import sqlalchemy as sa

from quartermaster.jobs.history import LogLine
from quartermaster.store.schema import job_log_chunks

CHUNK_BYTES = 64 * 1024  # a kept log is written in chunks of about this size, one stream each
EXPIRY_BATCH_LOG_BYTES = 4 * 1024 * 1024  # kept logs a batch deletes at most (a larger one alone)


def log_lines(connection: sa.Connection, job_id: str) -> list[LogLine]:
    query = (
        sa.select(job_log_chunks.c.stream, job_log_chunks.c.data)
        .where(job_log_chunks.c.job_id == job_id)
        .order_by(job_log_chunks.c.seq)
    )
    return [
        LogLine(row.stream, line)
        for row in connection.execute(query)
        for line in row.data.splitlines(keepends=True)
    ]


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
