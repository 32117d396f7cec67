"""The `qm` command's logic without a server (exit statuses, option parsing, plain tables), and
its answers to a scripted server on loopback."""

import base64
import errno
import io
import json
import os
import signal
import sys
import threading
import time
from datetime import UTC, datetime, timedelta

import click
import pytest
from click.testing import CliRunner

import quartermaster.cli.attach
import quartermaster.client.transport
from quartermaster.cli.all_commands import qm
from quartermaster.cli.attach import PendingLine, stop_on_interrupt
from quartermaster.cli.exit_codes import exit_code_of
from quartermaster.cli.nodes import health_text, node_row
from quartermaster.cli.output import age, bar, plain_table, warn
from quartermaster.cli.parsing import environment, key_values, registry_auth, since_time
from quartermaster.cli.signals import Signalled, exit_status_of, taken_as_ctrl_c
from quartermaster.client import Job, Node
from support.scripted_server import Answer, json_answer

NOW = datetime(2026, 11, 27, 10, 0, 0, tzinfo=UTC)


def job(status, exit_code=None, error=None, **more):
    document = {"id": "a" * 25, "name": "n", "image": "img", "status": status,
                "exit_code": exit_code, "error": error, **more}  # fmt: skip
    return Job.from_document(document)


@pytest.mark.parametrize(
    ("ended", "code"),
    [
        (job("complete", 0), 0),
        (job("failed", 3, "task: non-zero exit (3)"), 3),
        (job("failed", 137, "timed out after 5s"), 124),
        (job("failed", None, "timed out after 60s"), 124),
        (job("rejected", None, "No such image: nope"), 125),
        (job("failed", None, "its node lab-worker-1 stopped answering"), 126),
        (job("shutdown", None), 126),
        (job("lost", None, "removed unseen"), 126),
    ],
)
def test_the_exit_status_of_an_ended_job(ended, code):
    assert exit_code_of(ended) == code


def test_key_value_options():
    assert key_values(["a=1", "b=x=y", "c="], "-l") == {"a": "1", "b": "x=y", "c": ""}
    with pytest.raises(click.BadParameter, match="'novalue' is not KEY=VALUE"):
        key_values(["novalue"], "-l")


def test_an_env_name_alone_takes_the_callers_value_like_docker():
    caller = {"HOME": "/root", "EMPTY": ""}
    given = ["A=1", "HOME", "EMPTY", "NOT_SET"]
    assert environment(given, caller) == {"A": "1", "HOME": "/root", "EMPTY": ""}


def test_a_registry_auth_file_is_sent_as_base64_of_its_json(tmp_path):
    path = tmp_path / "creds.json"
    creds = {"username": "qmuser", "password": "qmpass", "email": "a@b.c"}
    path.write_text(json.dumps(creds))
    assert json.loads(base64.b64decode(registry_auth(path))) == creds
    path.write_text('{"username": "qmuser"}')
    with pytest.raises(click.BadParameter, match="username and password"):
        registry_auth(path)
    path.write_text("not json")
    with pytest.raises(click.BadParameter):
        registry_auth(path)


def test_since_takes_a_unix_time_a_duration_or_an_rfc3339_time():
    now = NOW.timestamp()
    assert since_time("1795773600.5", now) == 1795773600.5
    assert since_time("10m", now) == now - 600
    assert since_time("2h", now) == now - 7200
    assert since_time("2026-11-27T09:00:00Z", now) == now - 3600
    with pytest.raises(click.BadParameter):
        since_time("yesterday", now)


def test_a_plain_table_is_aligned_text():
    table = plain_table(["id", "name"], [["abc", "first"], ["abcdef", "x"]])
    assert table == "ID      NAME\nabc     first\nabcdef  x\n"


def test_bars_and_ages():
    assert bar(300, 1000) == "[###-------]"
    assert bar(5, 0) == "[----------]"
    assert bar(2000, 1000) == "[##########]"
    assert age(NOW - timedelta(seconds=45), NOW) == "45s ago"
    assert age(NOW - timedelta(hours=3, minutes=5), NOW) == "3h ago"
    assert age(None, NOW) == "-"


def test_a_node_row():
    node = Node.from_document({"id": "n", "hostname": "w1", "role": "worker", "state": "ready",
                               "availability": "active", "memory_mb": 1000, "cpus": 2.0,
                               "reserved_memory_mb": 500, "reserved_cpus": 0.5,
                               "running_jobs": 1})  # fmt: skip
    assert node_row(node) == [
        "w1", "worker", "ready", "[#####-----] 500/1000 MB", "[###-------] 0.5/2", "1"
    ]  # fmt: skip


def test_health_in_words():
    healthy = {"success": True, "docker": "ok", "reaper": {"state": "ok"},
               "swarm": {"managers": 1, "workers": 2, "ready_workers": 2}}  # fmt: skip
    assert health_text(healthy) == "healthy: docker ok; 1 manager(s), 2/2 workers ready; reaper ok"
    assert health_text({"success": False, "error": "Docker is unreachable"}) == (
        "unhealthy: Docker is unreachable"
    )


def qm_against(scripted_server, *args):
    env = {
        "QM_URL": scripted_server.url,
        "QM_TOKEN": "unit-test-token",
        "QM_TOKEN_FILE": "",
        "COLUMNS": "200",
    }
    return CliRunner().invoke(qm, list(args), env=env, prog_name="qm")


def test_jobs_in_a_pipe_is_a_plain_table_without_escape_codes(scripted_server):
    listed = [{"id": "b" * 25, "name": "second", "image": "img:1", "status": "started",
               "exit_code": None, "created_at": "2026-11-27T10:00:00Z",
               "started_at": "2026-11-27T10:00:01Z"},
              {"id": "a" * 25, "name": "first", "image": "img:1", "status": "failed",
               "exit_code": 3, "created_at": "2026-11-27T09:00:00Z",
               "started_at": "2026-11-27T09:00:01Z",
               "finished_at": "2026-11-27T09:01:31Z"}]  # fmt: skip
    scripted_server.answer(
        "GET", "/jobs", json_answer(200, {"success": True, "jobs": listed, "next_cursor": None})
    )
    result = qm_against(
        scripted_server, "jobs", "--status", "failed", "--status", "started", "-l", "t=a"
    )
    assert result.exit_code == 0, result.output
    header, second, first = result.stdout.splitlines()
    assert header.split() == ["ID", "NAME", "IMAGE", "STATUS", "EXIT", "CREATED", "DURATION"]
    assert second.split()[:4] == ["b" * 12, "second", "img:1", "started"]
    assert first.split()[:5] == ["a" * 12, "first", "img:1", "failed", "3"]
    assert first.split()[-1] == "1m"
    assert "\x1b" not in result.stdout
    assert scripted_server.received[0].query == {
        "status": ["failed", "started"], "label": ["t=a"], "limit": ["20"]
    }  # fmt: skip


def test_a_refused_run_exits_125_with_the_servers_message(scripted_server):
    refusal = {"success": False, "code": 400, "error": "invalid request", "request_id": "r9",
               "fields": {"memory": ["must be between 6 and 4194304"]}}  # fmt: skip
    scripted_server.answer("POST", "/run", json_answer(400, refusal))
    result = qm_against(scripted_server, "run", "--memory", "1", "img", "echo", "--not-an-option")
    assert result.exit_code == 125
    assert "memory: must be between 6 and 4194304" in result.stderr and "r9" in result.stderr
    assert scripted_server.received[0].json() == {
        "image": "img", "command": ["echo", "--not-an-option"], "memory": 1
    }  # fmt: skip


def test_a_rejected_job_exits_125_with_the_reason(scripted_server):
    scripted_server.answer("POST", "/run", json_answer(200, {"success": True, "id": "job1"}))
    scripted_server.answer("GET", "/status/job1", json_answer(200, {
        "success": True, "id": "job1", "status": "rejected", "error": "No such image: nope"
    }))  # fmt: skip
    scripted_server.answer("GET", "/logs/job1", Answer(body=[]))
    result = qm_against(scripted_server, "run", "nope")
    assert result.exit_code == 125
    assert "job job1 rejected: No such image: nope" in result.stderr


def test_stop_reports_each_failure_and_exits_1(scripted_server):
    scripted_server.answer(
        "POST", "/stop",
        json_answer(200, {"success": True, "id": "x" * 25}),
        json_answer(404, {"success": False, "code": 404, "error": "no such job: y"}),
    )  # fmt: skip
    result = qm_against(scripted_server, "stop", "x", "y")
    assert result.exit_code == 1
    assert result.stdout == "x" * 25 + "\n"
    assert "no such job: y (HTTP 404)" in result.stderr


def test_a_usage_error_exits_2(scripted_server):
    assert qm_against(scripted_server, "run").exit_code == 2
    assert qm_against(scripted_server, "run", "-l", "novalue", "img").exit_code == 2


class Terminal(io.StringIO):
    def isatty(self):
        return True


def test_the_pending_reason_on_a_terminal_is_one_line_updated_in_place():
    terminal = Terminal()
    line = PendingLine(terminal)
    line.show("no suitable node (insufficient resources on 2 nodes)", 3.2)
    line.show("no suitable node (insufficient resources on 2 nodes)", 5.4)
    line.clear()
    assert terminal.getvalue() == (
        "\r\x1b[Kqm: pending 3s: no suitable node (insufficient resources on 2 nodes)"
        "\r\x1b[Kqm: pending 5s: no suitable node (insufficient resources on 2 nodes)"
        "\r\x1b[K"
    )


def test_the_pending_reason_in_a_pipe_is_a_line_each_time_it_changes():
    pipe = io.StringIO()
    line = PendingLine(pipe)
    for reason, seconds in [("waiting to be placed", 3), ("waiting to be placed", 5),
                            ("no suitable node", 7)]:  # fmt: skip
        line.show(reason, seconds)
    line.clear()
    assert pipe.getvalue() == (
        "qm: pending (3s): waiting to be placed\nqm: pending (7s): no suitable node\n"
    )


def test_a_redirected_run_exits_1_naming_where_it_pointed(scripted_server):
    scripted_server.answer("POST", "/run", Answer(307, b"", {"Location": "http://127.0.0.1:1/run"}))
    result = qm_against(scripted_server, "run", "img")
    assert result.exit_code == 1
    assert "redirect to http://127.0.0.1:1/run" in result.stderr
    assert len(scripted_server.received) == 1


# A job's output that would act on a terminal: the window's title, the clipboard (OSC 52), a CSI
# as a C1 character (U+009B, in UTF-8) and as a raw byte, a bell and a backspace; \r and \t stay.
HOSTILE_OUTPUT = (
    b"\x1b]0;owned title\x07\x1b]52;c;aGVsbG8=\x07plain \xc2\x9b31mred\x9b0m caf\xc3\xa9\n"
    b"50%\r100%\tdone\x08\x08\x08\x08gone\n"
)
ON_A_TERMINAL = (
    "]0;owned title]52;c;aGVsbG8=plain 31mred\ufffd0m café\n50%\r100%\tdonegone\n"
).encode()


@pytest.fixture
def terminal(monkeypatch):
    """qm's stdout and stderr taken for a terminal."""
    import quartermaster.cli.attach
    import quartermaster.cli.jobs
    import quartermaster.cli.nodes
    import quartermaster.cli.output

    for module in (quartermaster.cli.attach, quartermaster.cli.jobs, quartermaster.cli.nodes,
                   quartermaster.cli.output):  # fmt: skip
        monkeypatch.setattr(module, "is_terminal", lambda stream=None: True, raising=False)


def test_a_jobs_output_reaches_a_terminal_without_its_control_characters(scripted_server, terminal):
    scripted_server.answer(
        "GET", "/logs/job1", Answer(body=[HOSTILE_OUTPUT[:9], HOSTILE_OUTPUT[9:]])
    )
    result = qm_against(scripted_server, "logs", "job1")
    assert result.exit_code == 0, result.output
    assert result.stdout_bytes == ON_A_TERMINAL
    assert b"\x1b" not in result.stdout_bytes


def test_a_jobs_output_reaches_a_pipe_unchanged(scripted_server):
    scripted_server.answer("GET", "/logs/job1", Answer(body=[HOSTILE_OUTPUT]))
    assert qm_against(scripted_server, "logs", "job1").stdout_bytes == HOSTILE_OUTPUT


def test_raw_gives_a_terminal_the_output_unchanged(scripted_server, terminal):
    scripted_server.answer("GET", "/logs/job1", Answer(body=[HOSTILE_OUTPUT]))
    assert qm_against(scripted_server, "logs", "--raw", "job1").stdout_bytes == HOSTILE_OUTPUT


def run_printing(scripted_server, output):
    scripted_server.answer("POST", "/run", json_answer(200, {"success": True, "id": "job1"}))
    scripted_server.answer("GET", "/status/job1", json_answer(200, {
        "success": True, "id": "job1", "status": "complete", "exit_code": 0
    }))  # fmt: skip
    at = b"2026-11-27T10:00:01.000000001Z "  # a follow asks for each line's time
    lines = [at + line + b"\n" for line in output.split(b"\n")[:-1]]  # (\r ends no line)
    scripted_server.answer("GET", "/logs/job1", Answer(body=lines))


def test_run_attached_strips_a_terminals_control_characters_unless_raw(scripted_server, terminal):
    run_printing(scripted_server, HOSTILE_OUTPUT)
    result = qm_against(scripted_server, "run", "img")
    assert result.exit_code == 0, result.output
    # The scripted server answers both streams' follows with the same output.
    assert result.stdout_bytes == ON_A_TERMINAL and result.stderr_bytes == ON_A_TERMINAL
    raw = qm_against(scripted_server, "run", "--raw", "img")
    assert raw.stdout_bytes == HOSTILE_OUTPUT and raw.stderr_bytes == HOSTILE_OUTPUT


def test_run_attached_to_a_pipe_passes_the_output_unchanged(scripted_server):
    run_printing(scripted_server, HOSTILE_OUTPUT)
    result = qm_against(scripted_server, "run", "img")
    assert result.stdout_bytes == HOSTILE_OUTPUT


def test_a_jobs_table_on_a_terminal_shows_its_cells_as_text(scripted_server, terminal):
    listed = [{"id": "a" * 25, "name": "[link=http://x]y[/link]", "image": "[bold]img\x1b]0;t\x07",
               "status": "complete", "exit_code": 0,
               "created_at": "2026-11-27T10:00:00Z"}]  # fmt: skip
    scripted_server.answer(
        "GET", "/jobs", json_answer(200, {"success": True, "jobs": listed, "next_cursor": None})
    )
    result = qm_against(scripted_server, "jobs")
    assert result.exit_code == 0, result.output
    assert "[link=http://x]y[/link]" in result.stdout
    assert "[bold]img]0;t" in result.stdout
    assert "\x1b" not in result.stdout and "\x07" not in result.stdout


def test_a_nodes_table_on_a_terminal_shows_its_cells_as_text(scripted_server, terminal):
    node = {"id": "n", "hostname": "[link=http://x]w1[/link]", "role": "worker",
            "state": "ready", "availability": "active", "memory_mb": 1000, "cpus": 2.0}  # fmt: skip
    scripted_server.answer("GET", "/nodes", json_answer(200, {"success": True, "nodes": [node]}))
    result = qm_against(scripted_server, "nodes")
    assert "[link=http://x]w1[/link]" in result.stdout


def test_a_status_on_a_terminal_and_the_servers_errors_carry_no_control_characters(
    scripted_server, terminal
):
    scripted_server.answer("GET", "/status/job1", json_answer(200, {
        "success": True, "id": "job1", "status": "failed", "error": "\x1b]52;c;aGk=\x07boom"
    }))  # fmt: skip
    scripted_server.answer("POST", "/stop", json_answer(404, {
        "success": False, "code": 404, "error": "no such job\x1b[2J"
    }))  # fmt: skip
    status = qm_against(scripted_server, "status", "job1")
    assert "]52;c;aGk=boom" in status.stdout and "\x1b" not in status.stdout
    stop = qm_against(scripted_server, "stop", "x")
    assert "no such job[2J" in stop.stderr and "\x1b" not in stop.stderr


def test_a_token_on_the_command_line_is_sent_with_a_warning(scripted_server, tmp_path):
    scripted_server.answer("GET", "/status/job1", json_answer(200, {"success": True, "id": "job1",
                                                           "status": "complete"}))  # fmt: skip
    given = qm_against(scripted_server, "--token", "a-token-on-the-line", "status", "job1")
    assert given.exit_code == 0, given.output
    assert "warning: --token puts the token on the command line" in given.stderr
    assert "prefer --token-file or QM_TOKEN_FILE" in given.stderr
    assert "a-token-on-the-line" not in given.stderr
    token_file = tmp_path / "token"
    token_file.write_text("a-token-in-a-file\n")
    from_file = qm_against(scripted_server, "--token-file", str(token_file), "status", "job1")
    assert from_file.exit_code == 0 and from_file.stderr == ""
    sent = [request.headers["Authorization"] for request in scripted_server.received]
    assert sent == ["Bearer a-token-on-the-line", "Bearer a-token-in-a-file"]


def test_the_help_examples_give_the_token_in_a_file():
    text = CliRunner().invoke(qm, ["--help"], prog_name="qm").stdout
    assert "QM_TOKEN_FILE=" in text[text.index("Examples:") :]
    assert "QM_TOKEN=" not in text


def test_a_token_over_plain_http_off_this_host_is_warned_about_once(scripted_server, monkeypatch):
    # The scripted server is on loopback: taken here for a host elsewhere.
    monkeypatch.setattr(quartermaster.client.transport, "_warned_in_clear", set())
    monkeypatch.setattr(quartermaster.client.transport, "is_loopback_host", lambda host: False)
    run_printing(scripted_server, b"hi\n")
    result = qm_against(scripted_server, "run", "img")  # three clients: the run, and each stream's
    assert result.exit_code == 0, result.output
    warning = f"qm: warning: the token goes to {scripted_server.url} in clear text"
    assert result.stderr.count(warning) == 1, result.stderr
    assert "unit-test-token" not in result.stderr


def test_a_token_to_loopback_is_not_warned_about(scripted_server, monkeypatch):
    monkeypatch.setattr(quartermaster.client.transport, "_warned_in_clear", set())
    run_printing(scripted_server, b"hi\n")
    assert "warning" not in qm_against(scripted_server, "run", "img").stderr


def test_the_pending_reason_from_the_server_carries_no_control_characters():
    terminal = Terminal()
    PendingLine(terminal).show("no node\x1b]0;title\x07 fits", 3)
    assert terminal.getvalue() == "\r\x1b[Kqm: pending 3s: no node]0;title fits"


@pytest.fixture(autouse=True)
def signals_as_a_terminal_leaves_them():
    """SIGINT, SIGTERM and SIGHUP at their defaults, as a shell on a terminal starts a command:
    these tests pass however the run was started (a script's background job has SIGINT ignored,
    `nohup` SIGHUP; qm rightly keeps a signal it was started with ignored)."""
    defaults = {
        signal.SIGINT: signal.default_int_handler,
        signal.SIGTERM: signal.SIG_DFL,
        signal.SIGHUP: signal.SIG_DFL,
    }
    before = {number: signal.signal(number, handler) for number, handler in defaults.items()}
    yield
    for number, handler in before.items():
        signal.signal(number, handler)


# SIGTERM and SIGHUP while `qm run` is attached: taken as Ctrl-C.


def test_sigterm_and_sighup_are_taken_as_ctrl_c_within_and_restored_after():
    before = {number: signal.getsignal(number) for number in (signal.SIGTERM, signal.SIGHUP)}
    with taken_as_ctrl_c():
        for number, status in ((signal.SIGTERM, 143), (signal.SIGHUP, 129)):
            with pytest.raises(KeyboardInterrupt) as raised:
                signal.raise_signal(number)
            assert isinstance(raised.value, Signalled)
            assert exit_status_of(raised.value) == status
    assert {number: signal.getsignal(number) for number in before} == before
    assert exit_status_of(KeyboardInterrupt()) == 130


def test_a_signal_qm_was_started_with_ignored_stays_ignored(monkeypatch):
    monkeypatch.setattr(signal, "getsignal", lambda number: signal.SIG_IGN)
    installed = []
    monkeypatch.setattr(signal, "signal", lambda number, handler: installed.append(handler))
    with taken_as_ctrl_c():
        assert installed == []  # `nohup qm run …`: a hang-up leaves qm and its job alone


class StopRecorder:
    """A client's stop and wait, recorded."""

    def __init__(self):
        self.stopped = []

    def stop(self, job_id):
        self.stopped.append(job_id)
        return job_id

    def wait(self, job_id, timeout=None):
        return job("shutdown")


@pytest.fixture
def exits(monkeypatch):
    """os._exit (which `leave` ends qm with) raising SystemExit instead, to be seen."""

    def exit_(status):
        raise SystemExit(status)

    monkeypatch.setattr(os, "_exit", exit_)


def grace_ended_by(monkeypatch, interrupt):
    def sleep(seconds):
        raise interrupt

    monkeypatch.setattr(quartermaster.cli.attach.time, "sleep", sleep)


def test_a_sigterm_or_sighup_in_the_grace_sends_the_stop_at_once(monkeypatch):
    client = StopRecorder()
    for second in (signal.SIGTERM, signal.SIGHUP):
        grace_ended_by(monkeypatch, Signalled(second))
        assert stop_on_interrupt(client, "job1", Signalled(signal.SIGTERM)).status == "shutdown"
    assert client.stopped == ["job1", "job1"]


def test_ctrl_c_in_the_grace_after_a_sigterm_leaves_the_job_with_sigterms_status(
    monkeypatch, exits
):
    client = StopRecorder()
    grace_ended_by(monkeypatch, KeyboardInterrupt())
    with pytest.raises(SystemExit) as exited:
        stop_on_interrupt(client, "job1", Signalled(signal.SIGTERM))
    assert exited.value.code == 143 and client.stopped == []


def signalled_while_running(scripted_server, number):
    """/run answers job1, which runs until `number` reaches qm's main thread (in its long poll
    of /status), and ends `shutdown` once stopped."""

    def send():
        signal.pthread_kill(threading.main_thread().ident, number)
        time.sleep(1)  # the poll is cut short: this answer is never read

    started = {"success": True, "id": "job1", "status": "started"}
    shutdown = {"success": True, "id": "job1", "status": "shutdown"}
    scripted_server.answer("POST", "/run", json_answer(200, {"success": True, "id": "job1"}))
    scripted_server.answer("POST", "/stop", json_answer(200, {"success": True, "id": "job1"}))
    scripted_server.answer("GET", "/logs/job1", Answer(body=[]))
    scripted_server.answer("GET", "/status/job1", json_answer(200, started),
                  Answer(body=[send, json.dumps(started).encode()]),
                  json_answer(200, shutdown))  # fmt: skip


@pytest.mark.parametrize(("number", "status"), [(signal.SIGTERM, 143), (signal.SIGHUP, 129)])
def test_sigterm_or_sighup_stops_an_attached_job_and_exits_128_plus_its_number(
    scripted_server, monkeypatch, number, status
):
    monkeypatch.setattr(quartermaster.cli.attach, "STOP_GRACE_SECONDS", 0.05)
    signalled_while_running(scripted_server, number)
    result = qm_against(scripted_server, "run", "img")
    assert result.exit_code == status, result.output
    assert f"stopping job1… ({signal.Signals(number).name}; Ctrl-C" in result.stderr
    assert [request.json() for request in scripted_server.requests_to("/stop")] == [{"id": "job1"}]


@pytest.mark.parametrize(
    ("number", "status"), [(signal.SIGTERM, 143), (signal.SIGHUP, 129), (signal.SIGINT, 130)]
)
def test_no_stop_on_signal_leaves_the_job_running_with_the_same_status(
    scripted_server, exits, number, status
):
    signalled_while_running(scripted_server, number)
    result = qm_against(scripted_server, "run", "--no-stop-on-signal", "img")
    assert result.exit_code == status, result.output
    assert f"{signal.Signals(number).name}: left running: job1" in result.stderr
    assert scripted_server.requests_to("/stop") == []


def test_a_message_to_a_stderr_that_is_gone_is_lost_without_an_error(monkeypatch):
    class HungUp(io.TextIOWrapper):
        def write(self, text):
            raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(sys, "stderr", HungUp(io.BytesIO()))
    warn("stopping job1…")  # after a closed terminal's SIGHUP: qm goes on to stop the job
