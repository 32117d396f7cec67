"""What is kept of a job once it ends: its request as recorded, and its log within a cap.

A log is kept as the lines Docker gives with `timestamps=true` (`<RFC 3339 time> <text>`), each
with its stream, so an archived log answers /logs' options (tail, since, stream, timestamps) as a
live one does. Only the newest `max_bytes` are kept, cut at a line: a job printing without end
costs the capture no more memory than the cap.
"""

from collections import deque
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from functools import cached_property

from quartermaster.jobs.callback_addresses import printable_url
from quartermaster.jobs.logs import LogOptions
from quartermaster.jobs.spec import JobSpec
from quartermaster.jobs.times import NANO, nanos_of

STDOUT, STDERR = 1, 2  # as in Docker's multiplexed log frames


@dataclass(frozen=True)
class Transition:
    """A step of a job's timeline: when the reaper (or /run, /stop) saw its status change."""

    at: str  # RFC 3339 in UTC
    status: str
    state: str
    detail: str | None  # why, where the step has a reason: "stopped by /stop", why it is lost


@dataclass(frozen=True)
class JobHistory:
    """What the store keeps of how a job came to be where it is: the request that made it, as
    recorded_request (or, for an imported job, its service) gives it, and its timeline."""

    id: str
    tenant: str | None  # its tenant; None: the operator's
    request: dict
    timeline: list[Transition]


@dataclass(frozen=True)
class LogLine:
    stream: int  # STDOUT or STDERR
    line: bytes  # as Docker gives it with timestamps: b"<time> <text>\n"

    @cached_property
    def at(self) -> int:
        """Its time, in nanoseconds since the epoch (UTC): read from the line when asked."""
        return line_nanos(self.line)

    @property
    def text(self) -> bytes:
        """The line without its timestamp."""
        return self.line.partition(b" ")[2]


@dataclass
class LogKeeper:
    """The newest lines of a log, within `max_bytes`, fed a line at a time."""

    max_bytes: int
    lines: deque[LogLine] = field(default_factory=deque)
    size: int = 0
    truncated: bool = False

    def add(self, line: LogLine) -> None:
        self.lines.append(line)
        self.size += len(line.line)
        while self.size > self.max_bytes:
            self.size -= len(self.lines.popleft().line)
            self.truncated = True


def parse_log_line(stream: int, line: bytes) -> LogLine:
    """A line of Docker's with its timestamp; ValueError if it has none."""
    stamp, separator, _ = line.partition(b" ")
    if not separator:
        raise ValueError("a log line without a timestamp")
    nanos_of(stamp.decode("ascii"))  # ValueError if it is none
    return LogLine(stream, line)


def line_nanos(line: bytes) -> int:
    """The time of a line as Docker gives it (b"<time> <text>"), in nanoseconds since the epoch."""
    return nanos_of(line.partition(b" ")[0].decode("ascii"))


def select_kept(chunks: Iterable[tuple[int, bytes]], options: LogOptions) -> bytes:
    """What /logs gives of a kept log for `options` (follow is moot: the job is over). `chunks`:
    the log in order as (stream, data), each data one stream's lines as Docker gives them (a
    timestamp first, a newline last). Lines stay bytes: a tail of a long log makes no object per
    line, and a line's time is read only when `since` asks."""
    streams = {STDOUT} if options.stdout else set()
    streams |= {STDERR} if options.stderr else set()
    lines = [
        line
        for stream, data in chunks
        if stream in streams
        for line in data.splitlines(keepends=True)
    ]
    if options.since is not None:
        since = round(options.since * NANO)
        lines = [line for line in lines if line_nanos(line) >= since]
    if options.tail is not None:
        lines = lines[len(lines) - options.tail :] if options.tail else []
    if not options.timestamps:
        lines = [line.partition(b" ")[2] for line in lines]
    return b"".join(lines)


# JobSpec's fields a record never keeps: the registry credentials, and the Idempotency-Key (its
# job's labels hold the key's hash). /history's document leaves them out too (web/schemas).
# The tenant, who ran it and its template (and tick) are columns; a payload is kept by no record
# (its hash is in the request's).
NOT_RECORDED = (
    "registry_auth",
    "idempotency_key",
    "tenant",
    "run_by",
    "payload",
    "template",
    "scheduled_for",
)


def recorded_request(job: JobSpec, *, env_values: bool) -> dict:
    """The request as a record keeps it: JobSpec's fields but NOT_RECORDED, and no more of its
    callback URL than its origin and hash (printable_url: a webhook's secret may be its path);
    `env` values only if the operator allows (otherwise the names, each with null)."""
    request = {name: value for name, value in asdict(job).items() if name not in NOT_RECORDED}
    request["command"] = None if job.command is None else list(job.command)
    request["constraints"] = list(job.constraints)
    if job.callback_url:
        request["callback_url"] = printable_url(job.callback_url)
    if not env_values:
        request["env"] = dict.fromkeys(job.env)
    return request
