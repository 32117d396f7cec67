"""What is kept of a job: its log within the cap, answered with /logs' options, and its request
without secrets."""

import hashlib

import pytest

from quartermaster.jobs import labels as job_labels
from quartermaster.jobs.history import (
    STDERR,
    STDOUT,
    LogKeeper,
    parse_log_line,
    recorded_request,
    select_kept,
)
from quartermaster.jobs.logs import LogOptions
from quartermaster.jobs.query import position_nanos
from quartermaster.jobs.spec import JobSpec
from quartermaster.jobs.times import nanos_of, timestamp_of
from quartermaster.swarm.spec import request_of

T0 = "2026-11-27T06:00:00.000000001Z"


def line(second: int, text: str, stream: int = STDOUT):
    return parse_log_line(stream, f"2026-11-27T06:00:{second:02d}.5Z {text}\n".encode())


LINES = [line(1, "one"), line(2, "two", STDERR), line(3, "three"), line(4, "four", STDERR)]


def test_times_round_trip_to_the_nanosecond():
    assert timestamp_of(nanos_of(T0)) == T0
    assert nanos_of("2026-11-27T06:00:00Z") + 1 == nanos_of(T0)
    assert nanos_of("2026-11-27T06:00:00.5Z") == nanos_of("2026-11-27T06:00:00.500000000Z")


def test_a_line_without_a_timestamp_is_refused():
    with pytest.raises(ValueError, match="timestamp"):
        parse_log_line(STDOUT, b"no-time-here")


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        (LogOptions(), [b"one\n", b"two\n", b"three\n", b"four\n"]),
        (LogOptions(tail=2), [b"three\n", b"four\n"]),
        (LogOptions(tail=0), []),
        (LogOptions(tail=9), [b"one\n", b"two\n", b"three\n", b"four\n"]),
        (LogOptions(stderr=False), [b"one\n", b"three\n"]),
        (LogOptions(stdout=False, tail=1), [b"four\n"]),  # tail counts the stream asked for
        (LogOptions(since=nanos_of("2026-11-27T06:00:03Z") / 1e9), [b"three\n", b"four\n"]),
        (LogOptions(timestamps=True, tail=1), [b"2026-11-27T06:00:04.5Z four\n"]),
    ],
)
def test_a_kept_log_answers_the_options_of_logs(options, expected):
    one_line_a_chunk = [(each.stream, each.line) for each in LINES]
    assert select_kept(one_line_a_chunk, options) == b"".join(expected)


def test_each_line_of_a_chunk_counts():
    runs = [(STDOUT, LINES[0].line + LINES[2].line), (STDERR, LINES[3].line)]
    assert select_kept(runs, LogOptions(tail=2)) == b"three\nfour\n"
    assert select_kept(runs, LogOptions(stderr=False, tail=5)) == b"one\nthree\n"


def test_the_keeper_keeps_the_newest_bytes_cut_at_a_line():
    keeper = LogKeeper(max_bytes=len(LINES[2].line) + len(LINES[3].line))
    for each in LINES:
        keeper.add(each)
    assert [kept.text for kept in keeper.lines] == [b"three\n", b"four\n"]
    assert keeper.truncated and keeper.size <= keeper.max_bytes
    whole = LogKeeper(max_bytes=10_000)
    for each in LINES:
        whole.add(each)
    assert len(whole.lines) == 4 and not whole.truncated


def test_a_zero_cap_keeps_nothing_and_says_so():
    keeper = LogKeeper(max_bytes=0)
    keeper.add(LINES[0])
    assert (list(keeper.lines), keeper.truncated) == ([], True)


def test_the_recorded_request_holds_no_secret():
    job = JobSpec(
        image="busybox",
        command=("echo", "hi"),
        env={"API_KEY": "s3cret", "MODE": "fast"},
        callback_url="https://hooks.example/s3cret/done?token=s3cret",
        idempotency_key="key-s3cret",
        registry_auth={"username": "u", "password": "s3cret"},
        labels={"team": "a"},
    )
    request = recorded_request(job, env_values=False)
    assert "s3cret" not in repr(request)
    assert request["env"] == {"API_KEY": None, "MODE": None}
    assert (
        request["callback_url"]
        == "https://hooks.example:443/...#sha256:"
        + (hashlib.sha256(job.callback_url.encode()).hexdigest()[:16])
    )
    assert (request["command"], request["labels"]) == (["echo", "hi"], {"team": "a"})
    assert "registry_auth" not in request and "idempotency_key" not in request
    assert recorded_request(job, env_values=True)["env"] == {"API_KEY": "s3cret", "MODE": "fast"}


@pytest.mark.parametrize(
    "time",
    [
        "0000-00-00T00:00:00.000000000",
        "2026-13-45T99:99:99.999999999",
        "2026-02-30T12:00:00.000000000",
        "9999-12-31T23:59:59.999999999",
    ],
)
def test_any_time_of_a_cursors_form_is_a_position(time):
    assert 0 <= position_nanos(time) <= 2**63 - 1


def test_a_servers_cursor_time_is_exact():
    assert position_nanos(T0.rstrip("Z")) == nanos_of(T0)


def test_a_job_made_while_the_store_was_away_is_recorded_without_its_callback_path():
    """request_of: the record of a job the store never saw made comes from its service, whose
    label holds the full URL for the delivery; the record shows only its origin and hash."""
    url = "https://hooks.slack.com/services/T0/B0/s3cret"
    service = {"Spec": {"Name": "j", "Labels": {job_labels.CALLBACK_URL: url}}}
    request = request_of(service)
    assert (
        request["callback_url"]
        == "https://hooks.slack.com:443/...#sha256:"
        + (hashlib.sha256(url.encode()).hexdigest()[:16])
    )
