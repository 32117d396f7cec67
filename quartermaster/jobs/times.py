"""Time as swarm writes it and the store keeps it: nanoseconds since the epoch, and RFC 3339.

Docker's timestamps (task states, log lines) carry nanoseconds; the record store keeps times as
integer nanoseconds in UTC, so nothing is lost between the two.
"""

import calendar
import re
from datetime import UTC, datetime, timedelta

NANO = 10**9  # nanoseconds in a second (and Docker's NanoCPUs in a CPU)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_TIMESTAMP = re.compile(r"(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(?:\.(\d{1,9}))?Z\Z", re.ASCII)


def nanos_of(timestamp: str) -> int:
    """Nanoseconds since the epoch of one of Docker's UTC timestamps (RFC 3339, any fraction);
    ValueError for anything else. (A kept log's every line is parsed on each read: a pattern
    and timegm take a third of strptime's time.)"""
    match = _TIMESTAMP.match(timestamp)
    if match is None:
        raise ValueError(f"not an RFC 3339 time in UTC: {timestamp!r}")
    *fields, fraction = match.groups()
    whole = calendar.timegm(tuple(map(int, fields)))
    return whole * NANO + int((fraction or "0").ljust(9, "0"))


def timestamp_of(nanos: int) -> str:
    """Our one form of a time: RFC 3339 in UTC, with all nine digits of its nanoseconds."""
    whole, fraction = divmod(nanos, NANO)
    seconds = datetime.fromtimestamp(whole, UTC).strftime("%Y-%m-%dT%H:%M:%S")
    return f"{seconds}.{fraction:09d}Z"


def nine_digits(timestamp: str) -> str:
    """One of Docker's timestamps in our form. Docker drops a fraction's trailing zeros
    (Go's RFC3339Nano: `.57350706Z`, `:43Z`); a job's live answer must read as its record will."""
    return timestamp_of(nanos_of(timestamp))


def nanos_of_moment(moment: datetime) -> int:
    """Nanoseconds since the epoch of an aware datetime (exact: no float on the way)."""
    delta = moment - EPOCH
    return (delta.days * 86400 + delta.seconds) * NANO + delta.microseconds * 1000


def moment_of(nanos: int) -> datetime:
    """The aware UTC datetime of nanoseconds since the epoch (to the microsecond)."""
    return EPOCH + timedelta(microseconds=nanos // 1000)
