"""`tail` of one stream: the plan of Docker reads, and the lines passed on. Pure logic."""

import struct

from quartermaster.swarm.log_tail import (
    STDERR,
    STDOUT,
    StreamTail,
    count_lines,
    frames,
    one_stream,
    plan_tail,
)


def multiplexed(*frames_: tuple[int, bytes]) -> bytes:
    return b"".join(struct.pack(">BxxxL", stream, len(data)) + data for stream, data in frames_)


def reader(data: bytes):
    position = 0

    def read(size: int) -> bytes:
        nonlocal position
        chunk = data[position : position + size]
        position += len(chunk)
        return chunk

    return read


def log_of(lines: list[tuple[int, bytes]]):
    """A count_lines(m) over this log, recording the m asked for."""
    asked = []

    def count(m: int) -> tuple[int, int]:
        asked.append(m)
        last = lines[-m:]
        return sum(stream == STDOUT for stream, _ in last), len(last)

    return count, asked


def test_enough_lines_of_the_stream_among_the_last_tail():
    count, asked = log_of([(STDOUT, b"a\n")] * 10)
    assert plan_tail(count, 3) == StreamTail(docker_tail=3, skip=0)
    assert asked == [3]


def test_the_window_doubles_until_it_holds_tail_lines_of_the_stream():
    count, asked = log_of([(STDOUT, b"o\n")] * 5 + [(STDERR, b"e\n")] * 6)
    assert plan_tail(count, 3) == StreamTail(docker_tail=12, skip=2)
    assert asked == [3, 6, 12]


def test_a_log_with_too_few_lines_of_the_stream_is_read_once_whole():
    count, asked = log_of([(STDOUT, b"o\n")] + [(STDERR, b"e\n")] * 2)
    assert plan_tail(count, 5) == StreamTail(docker_tail=5, skip=0)
    assert asked == [5]


def test_several_runs_giving_tail_lines_each_stop_when_nothing_more_comes():
    answers = {2: (0, 4), 4: (1, 6), 8: (1, 6)}  # two runs: up to m lines each, then all of it
    asked = []

    def count(m):
        asked.append(m)
        return answers[m]

    assert plan_tail(count, 2) == StreamTail(docker_tail=8, skip=0)
    assert asked == [2, 4, 8]


def test_frames_and_counting():
    data = multiplexed((STDOUT, b"a\n"), (STDERR, b"b\nc\n"), (STDOUT, b""), (STDOUT, b"d\n"))
    assert list(frames(reader(data))) == [(STDOUT, b"a\n"), (STDERR, b"b\nc\n"), (STDOUT, b"d\n")]
    assert count_lines(reader(data), STDOUT) == (2, 4)
    assert count_lines(reader(data), STDERR) == (2, 4)
    cut_short = list(frames(reader(data[:-1])))  # what arrived of the last frame is passed on
    assert cut_short == [(STDOUT, b"a\n"), (STDERR, b"b\nc\n"), (STDOUT, b"d")]


def test_one_stream_without_its_first_lines():
    chunks = [(STDOUT, b"1\n"), (STDERR, b"x\n"), (STDOUT, b"2\n3\n"), (STDOUT, b"4\n")]
    assert b"".join(one_stream(iter(chunks), STDOUT, 0)) == b"1\n2\n3\n4\n"
    assert b"".join(one_stream(iter(chunks), STDOUT, 2)) == b"3\n4\n"
    assert b"".join(one_stream(iter(chunks), STDERR, 0)) == b"x\n"
    split_line = [(STDOUT, b"lo"), (STDOUT, b"ng\nnext\n")]  # one line over two frames
    assert b"".join(one_stream(iter(split_line), STDOUT, 1)) == b"next\n"
