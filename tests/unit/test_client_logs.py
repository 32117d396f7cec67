"""The client's logs against a scripted server: lines as they arrive, bytes that are not UTF-8,
and a followed log carried over silences and cuts without losing or repeating a line."""

import hashlib
import threading
import time

import pytest

import quartermaster.client.client
import quartermaster.client.logs
from support.scripted_server import Answer, json_answer

T1, T2, T3 = (f"2026-11-27T10:00:0{n}.00000000{n}Z" for n in (1, 2, 3))
T2_SINCE = "1795773601.999999002"  # T2's UNIX time less a microsecond
MIB = 1024 * 1024


def status(word):
    return json_answer(200, {"success": True, "id": "job1", "status": word})


def stamped(*lines):
    return [f"{at} {text}\n".encode() for at, text in lines]


@pytest.fixture
def quick_follows(monkeypatch):
    """A follow silent for 0.3 s is opened again, at once."""
    monkeypatch.setattr(quartermaster.client.client, "FOLLOW_READ_SECONDS", 0.3)
    monkeypatch.setattr(quartermaster.client.logs, "RESUME_PAUSE_SECONDS", 0)


def test_lines_cut_across_chunks_come_whole(scripted_server, qm_client):
    scripted_server.answer("GET", "/logs/job1", Answer(body=[b"one\ntw", b"o\nthr", b"ee"]))
    assert list(qm_client.logs("job1", tail=5, stream="stderr")) == ["one", "two", "three"]
    assert scripted_server.received[0].query == {
        "tail": ["5"], "timestamps": ["false"], "stream": ["stderr"]
    }  # fmt: skip


def test_output_that_is_not_utf8_passes_as_bytes_or_is_replaced(scripted_server, qm_client):
    scripted_server.answer("GET", "/logs/job1", Answer(body=[b"caf\xe9\n"]))
    assert list(qm_client.log_bytes("job1")) == [b"caf\xe9\n"]
    assert list(qm_client.logs("job1")) == ["caf\ufffd"]


def test_each_line_is_given_as_soon_as_it_arrives(scripted_server, qm_client):
    first_line_read = threading.Event()
    scripted_server.answer(
        "GET",
        "/logs/job1",
        Answer(body=[b"one\n", lambda: first_line_read.wait(5), b"two\n"]),
    )
    lines = qm_client.logs("job1")
    assert next(lines) == "one"
    first_line_read.set()
    assert list(lines) == ["two"]


def test_a_silent_follow_is_opened_again_from_its_last_line(
    scripted_server, qm_client, quick_follows
):
    scripted_server.answer(
        "GET",
        "/logs/job1",
        Answer(body=[*stamped((T1, "a"), (T2, "b")), lambda: threading.Event().wait(1)]),
        Answer(body=stamped((T2, "b"), (T3, "c"))),
    )
    scripted_server.answer("GET", "/status/job1", status("started"), status("complete"))
    assert list(qm_client.logs("job1", follow=True, tail=10)) == ["a", "b", "c"]
    first, again = (request.query for request in scripted_server.requests_to("/logs/job1"))
    assert first == {"tail": ["10"], "timestamps": ["true"], "follow": ["true"]}
    assert again == {
        "tail": ["all"],
        "since": [T2_SINCE],
        "timestamps": ["true"],
        "follow": ["true"],
    }


def test_a_follow_the_server_ended_early_goes_on_while_the_job_runs(
    scripted_server, qm_client, quick_follows
):
    scripted_server.answer(
        "GET",
        "/logs/job1",
        Answer(body=stamped((T1, "a"), (T2, "b"))),  # e.g. FOLLOW_MAX_SECONDS, or a restart
        Answer(body=stamped((T2, "b"), (T3, "c"))),
    )
    scripted_server.answer("GET", "/status/job1", status("started"), status("failed"))
    lines = list(qm_client.logs("job1", follow=True, timestamps=True))
    assert lines == [f"{T1} a", f"{T2} b", f"{T3} c"]


def test_lines_of_the_same_time_are_told_apart_by_their_count(
    scripted_server, qm_client, quick_follows
):
    scripted_server.answer(
        "GET",
        "/logs/job1",
        Answer(body=stamped((T1, "a"), (T1, "b"))),
        Answer(body=stamped((T1, "a"), (T1, "b"), (T1, "c"))),
    )
    scripted_server.answer("GET", "/status/job1", status("started"), status("complete"))
    assert list(qm_client.logs("job1", follow=True)) == ["a", "b", "c"]


def test_a_follow_cut_after_its_job_ended_reads_the_rest_once(
    scripted_server, qm_client, quick_follows
):
    scripted_server.answer(
        "GET",
        "/logs/job1",
        Answer(body=[*stamped((T1, "a")), lambda: threading.Event().wait(1)]),
        Answer(body=stamped((T1, "a"), (T2, "b"))),
    )
    scripted_server.answer("GET", "/status/job1", status("complete"))
    assert list(qm_client.logs("job1", follow=True)) == ["a", "b"]
    assert scripted_server.requests_to("/logs/job1")[1].query["follow"] == ["false"]


def long_line_chunks(size, chunk=2048):
    """`size` bytes without a newline (every byte value but b"\\n"), in chunks of `chunk`."""
    block = bytes(value for value in range(256) if value != 10) * (chunk // 255 + 1)
    block = block[:chunk]
    for _ in range(size // chunk):
        yield block


def split_seconds(size):
    started = time.perf_counter()
    pieces = list(quartermaster.client.logs.lines_of(long_line_chunks(size)))
    return time.perf_counter() - started, pieces


def test_a_line_without_end_comes_in_bounded_pieces_in_linear_time():
    most = quartermaster.client.logs.MAX_LINE_BYTES
    eight = min(split_seconds(8 * MIB)[0] for _ in range(3))
    assert eight < 5  # generous: before the fix, 8 MiB in 2 KiB chunks took 19 s
    sixty_four, pieces = min(split_seconds(64 * MIB) for _ in range(3))
    assert max(map(len, pieces)) <= most
    assert sum(map(len, pieces)) == 64 * MIB
    expected = hashlib.sha256()
    for chunk in long_line_chunks(64 * MIB):
        expected.update(chunk)
    assert hashlib.sha256(b"".join(pieces)).digest() == expected.digest()
    assert sixty_four / eight < 32, (eight, sixty_four)  # linear: 8; quadratic: 64


def test_a_long_line_is_cut_between_characters_and_ends_with_its_newline():
    most = quartermaster.client.logs.MAX_LINE_BYTES
    line = "é".encode() * most + b"\n"  # two bytes a character: a cut at `most` splits none
    pieces = list(quartermaster.client.logs.lines_of([line[:1000], line[1000:], b"next\n"]))
    assert b"".join(pieces) == line + b"next\n"
    assert all(len(piece) <= most for piece in pieces)
    assert [piece.decode() for piece in pieces]  # each piece whole UTF-8
    assert pieces[-2].endswith(b"\n") and pieces[-1] == b"next\n"


LONG = b"x" * (3 * MIB // 2) + b"y" * MIB  # 2.5 MiB: pieces of MAX_LINE_BYTES


def test_a_long_line_broken_off_in_a_follow_goes_on_where_it_broke(
    scripted_server, qm_client, quick_follows
):
    most = quartermaster.client.logs.MAX_LINE_BYTES
    start = f"{T2} ".encode() + LONG[: 2 * MIB]
    scripted_server.answer(
        "GET",
        "/logs/job1",
        # The first stream breaks off (silent past the read timeout) within the long line.
        Answer(body=[*stamped((T1, "a")), start, lambda: threading.Event().wait(1)]),
        Answer(body=[f"{T2} ".encode() + LONG + b"\n", *stamped((T3, "c"))]),
    )
    scripted_server.answer("GET", "/status/job1", status("started"), status("complete"))
    pieces = list(qm_client.log_bytes("job1", follow=True))
    assert b"".join(pieces) == b"a\n" + LONG + b"\nc\n"
    assert max(map(len, pieces)) <= most


def test_a_follow_the_server_ended_within_a_line_gives_its_rest_once(
    scripted_server, qm_client, quick_follows
):
    scripted_server.answer(
        "GET",
        "/logs/job1",
        Answer(body=[f"{T1} progress 10%".encode()]),  # the follow's end: no newline yet
        Answer(body=[f"{T1} progress 10%\rprogress 20%\n".encode(), *stamped((T2, "b"))]),
    )
    scripted_server.answer("GET", "/status/job1", status("started"), status("complete"))
    pieces = list(qm_client.log_bytes("job1", follow=True))
    assert b"".join(pieces) == b"progress 10%\rprogress 20%\nb\n"
