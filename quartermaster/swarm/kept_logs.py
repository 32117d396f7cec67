"""A job's log set aside in a swarm config, for a final record written later.

Stopping a job's runs while its record cannot be written (/stop with the record store out of
reach, the reaper's timeout likewise) makes swarm drop the job's tasks, and their logs with them.
So the log is captured first and kept in a config `quartermaster-log-<job id>`; the job's final
record, whenever it is written, takes the log from there (Swarm.capture_log), and the reaper then
removes the config (reaper/recording.py, spent_logs).

A config holds at most MAX_CONFIG_BYTES: the newest lines that fit are kept, flagged truncated.
Its data is a first line, HEADER (swarm refuses a config without data, and a log may be empty),
then the kept log's lines as the store keeps them (`<RFC 3339 time> <text>\\n`), each after the
digit of its stream. Its name and labels say only whose log it is and when it was
set aside; its data is the job's own output, which the store keeps too.
"""

from collections import deque

from quartermaster.jobs import labels as job_labels
from quartermaster.jobs.history import LogKeeper, LogLine, parse_log_line
from quartermaster.swarm.claims import MAX_CONFIG_NAME

LOG_PREFIX = "quartermaster-log-"
LOG_OF = job_labels.RESERVED_PREFIX + "log-of"  # the job's id
SET_ASIDE_AT = job_labels.RESERVED_PREFIX + "log-set-aside-at"  # epoch seconds
TRUNCATED = job_labels.RESERVED_PREFIX + "log-truncated"  # "true" or "false"
# Swarm's limit of a config's data: 500 KiB in swarmkit before 2023 (1000 KiB in the lab's).
MAX_CONFIG_BYTES = 500 * 1024
HEADER = b"quartermaster log 1\n"
_STREAM_DIGITS = {1: b"1", 2: b"2"}


def log_name(job_id: str) -> str:
    return (LOG_PREFIX + job_id)[:MAX_CONFIG_NAME]


def log_labels(job_id: str, truncated: bool, now: float, deployment: str = "") -> dict[str, str]:
    return {
        job_labels.JOB: job_labels.job_mark(deployment),
        LOG_OF: job_id,
        SET_ASIDE_AT: f"{now:.3f}",
        TRUNCATED: "true" if truncated else "false",
    }


def encode_log(log: LogKeeper, max_bytes: int = MAX_CONFIG_BYTES) -> tuple[bytes, bool]:
    """The config's data for `log`: its newest lines within `max_bytes`; and whether the log
    is truncated (it was already, or lines were left out to fit)."""
    encoded: deque[bytes] = deque()
    size = len(HEADER)
    truncated = log.truncated
    for line in reversed(log.lines):
        text = line.line if line.line.endswith(b"\n") else line.line + b"\n"
        entry = _STREAM_DIGITS[line.stream] + text
        if size + len(entry) > max_bytes:
            truncated = True
            break
        encoded.appendleft(entry)
        size += len(entry)
    return HEADER + b"".join(encoded), truncated


def decode_log(data: bytes, truncated: bool, max_bytes: int) -> LogKeeper:
    """The log a config's data holds, its newest `max_bytes` kept (as a capture keeps them)."""
    if not data.startswith(HEADER):
        raise ValueError("not a log set aside by quartermaster")
    keeper = LogKeeper(max_bytes)
    for entry in data[len(HEADER) :].split(b"\n")[:-1]:
        keeper.add(_line(entry + b"\n"))
    keeper.truncated = keeper.truncated or truncated
    return keeper


def _line(entry: bytes) -> LogLine:
    stream = int(entry[:1])
    return parse_log_line(stream, entry[1:])
