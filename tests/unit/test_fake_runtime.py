"""The in-memory runtime's convention: what a command does, read from it; anything beyond it is
refused rather than guessed. (How its jobs answer: the runtime contract, which the swarm passes
too.)"""

import pytest

from support.fake_runtime import STDERR, STDOUT, Program, program_of, timestamp


@pytest.mark.parametrize(
    ("args", "program"),
    [
        (None, Program()),  # the image's default: sh, with no input
        (["true"], Program()),
        (["false"], Program(exit_code=1)),
        (["echo", "a", "$HOME;"], Program(lines=((0.0, STDOUT, "a $HOME;"),))),
        (["sleep", "2.5"], Program(seconds=2.5)),
        (["node", "index.js"], Program(missing="node")),
        (["sh", "-c", "sleep 1; false"], Program(seconds=1.0, exit_code=1)),
    ],
)
def test_what_a_command_does(args, program):
    assert program_of(args) == program


def test_a_script_prints_each_line_when_it_comes_to_it():
    program = program_of(["sh", "-c", "echo 'a b'; sleep 1; echo c >&2; exit 3; echo never"])
    assert [(stream, text) for _, stream, text in program.lines] == [(STDOUT, "a b"), (STDERR, "c")]
    assert [offset for offset, _, _ in program.lines] == [0, pytest.approx(1, abs=1e-3)]
    assert (program.seconds, program.exit_code) == (1, 3)


@pytest.mark.parametrize(
    "args",
    [
        ["sh", "-c", "sleep 60 & wait"],
        ["sh", "-c", "echo $HOME"],
        ["sh", "-c", "echo a | cat"],
        ["sh", "-c", "for i in 1 2; do echo $i; done"],
        ["sh", "-c", "trap 'exit 0' INT; sleep 60"],
        ["sh", "script.sh"],
        ["sleep", "1", "2"],
    ],
)
def test_anything_else_is_refused(args):
    with pytest.raises(ValueError, match="the fake"):
        program_of(args)


def test_times_are_written_as_swarm_writes_them():
    assert timestamp(0.5) == "1970-01-01T00:00:00.500000000Z"
    assert timestamp(1_800_000_000.25) == "2027-01-15T08:00:00.250000000Z"
