"""A log set aside in a swarm config (swarm/kept_logs.py) and when the reaper removes it
(reaper/recording.py spent_logs): pure logic, no Docker."""

from quartermaster.jobs.history import STDERR, STDOUT, LogKeeper, LogLine
from quartermaster.jobs.times import timestamp_of
from quartermaster.reaper.recording import spent_logs
from quartermaster.store import LiveRecord
from quartermaster.swarm.claims import MAX_CONFIG_NAME
from quartermaster.swarm.kept_logs import (
    HEADER,
    LOG_OF,
    MAX_CONFIG_BYTES,
    SET_ASIDE_AT,
    decode_log,
    encode_log,
    log_labels,
    log_name,
)

NOW = 1_800_000_000.0
TTL = 3600
FIRST_AT = 1_765_069_200_500_000_001  # nanoseconds: 2026-12-07T01:00:00.500000001Z


def keeper(*lines: tuple[int, bytes], max_bytes: int = 1 << 20) -> LogKeeper:
    kept = LogKeeper(max_bytes)
    for n, (stream, text) in enumerate(lines):
        at = FIRST_AT + n * 10**9
        kept.add(LogLine(stream, timestamp_of(at).encode() + b" " + text))
    return kept


def pairs(kept: LogKeeper) -> list[tuple[int, bytes]]:
    return [(line.stream, line.line) for line in kept.lines]


def test_a_log_comes_back_as_it_was_set_aside():
    kept = keeper((STDOUT, b"out\n"), (STDERR, b"err \xff bytes\n"), (STDOUT, b"cut by Docker"))
    data, truncated = encode_log(kept)
    back = decode_log(data, truncated, 1 << 20)
    assert truncated is False and back.truncated is False
    # A line Docker cut (no newline) gets one, as the store's kept log gives it.
    assert pairs(back) == [*pairs(kept)[:2], (STDOUT, kept.lines[2].line + b"\n")]
    assert [line.at for line in back.lines] == [line.at for line in kept.lines]


def test_a_log_over_the_configs_limit_keeps_its_newest_lines_flagged_truncated():
    line = b"x" * 1000 + b"\n"
    kept = keeper(*[(STDOUT, line)] * 600)  # about 600 KB, over the 500 KiB a config holds
    data, truncated = encode_log(kept)
    assert truncated and len(data) <= MAX_CONFIG_BYTES
    back = decode_log(data, truncated, 1 << 20)
    assert back.truncated and pairs(back) == pairs(kept)[-len(back.lines) :]
    assert len(back.lines) == (MAX_CONFIG_BYTES - len(HEADER)) // len(b"1" + kept.lines[0].line)


def test_an_empty_log_has_data_all_the_same():
    """Swarm refuses a config without data; a job halted before it printed has an empty log."""
    data, truncated = encode_log(LogKeeper(100))
    assert data and not truncated
    back = decode_log(data, truncated, 100)
    assert not back.lines and not back.truncated


def test_a_log_truncated_when_captured_stays_so_and_a_smaller_cap_cuts_it_again():
    kept = keeper((STDOUT, b"one\n"), (STDOUT, b"two\n"), max_bytes=40)
    assert kept.truncated  # the first line did not fit the capture's cap
    data, truncated = encode_log(kept)
    assert truncated and decode_log(data, truncated, 1 << 20).truncated
    whole = keeper((STDOUT, b"one\n"), (STDOUT, b"two\n"))
    data, truncated = encode_log(whole)
    smaller = decode_log(data, truncated, len(whole.lines[-1].line))
    assert smaller.truncated and pairs(smaller) == pairs(whole)[-1:]


def test_the_configs_name_and_labels_say_whose_log_and_when_only():
    job_id = "a" * 25
    assert log_name(job_id) == "quartermaster-log-" + job_id
    assert len(log_name(job_id)) <= MAX_CONFIG_NAME
    assert log_labels(job_id, True, NOW) == {
        "quartermaster.job": "true",
        LOG_OF: job_id,
        SET_ASIDE_AT: f"{NOW:.3f}",
        "quartermaster.log-truncated": "true",
    }
    assert log_labels(job_id, False, NOW, "staging")["quartermaster.job"] == "staging"


def kept_log(job_id: str, set_aside_at: str = f"{NOW - 60:.3f}") -> dict:
    return {"ID": f"c-{job_id}", "Spec": {"Labels": {LOG_OF: job_id, SET_ASIDE_AT: set_aside_at}}}


def test_a_log_set_aside_is_spent_once_no_final_record_is_to_take_it():
    logs = [
        kept_log("recorded"),  # its final record written: spent
        kept_log("halted"),  # its service there, its record not final: kept
        kept_log("unrecorded"),  # its service there, no record yet: kept
        kept_log("gone"),  # no service, no live record (removed, expired, never made): spent
        kept_log("vanished"),  # no service, a live record (to be finished lost): kept
        kept_log("old", f"{NOW - TTL:.3f}"),  # no service, set aside a ttl ago: spent
        kept_log("garbled", "soon"),  # no service, its time unreadable: spent
    ]
    services = {"recorded", "halted", "unrecorded"}
    records = {
        "recorded": LiveRecord("recorded", "shutdown", "shutdown", finished=True),
        "halted": LiveRecord("halted", "started", "running", finished=False),
        "vanished": LiveRecord("vanished", "started", "running", finished=False),
        "old": LiveRecord("old", "started", "running", finished=False),
        "garbled": LiveRecord("garbled", "started", "running", finished=False),
    }
    spent = spent_logs(logs, services, records, {"recorded"}, NOW, TTL)
    assert [log["ID"] for log in spent] == ["c-recorded", "c-gone", "c-old", "c-garbled"]


def test_while_the_store_is_away_only_a_log_older_than_the_ttl_without_its_service_is_spent():
    logs = [kept_log("halted"), kept_log("gone"), kept_log("old", f"{NOW - TTL:.3f}")]
    spent = spent_logs(logs, {"halted"}, None, set(), NOW, TTL)
    assert [log["ID"] for log in spent] == ["c-old"]
