"""The real `qm` command, as a subprocess, against a real server on the lab: output streams,
exit statuses, a pending job's reason, Ctrl-C as SIGINT, SIGTERM and SIGHUP, --json, tables."""

import fcntl
import json
import os
import pty
import queue
import signal
import subprocess
import sys
import termios
import threading
import time
from pathlib import Path

import pytest

from quartermaster.client import Client
from support.settings import TOKEN

QM = str(Path(sys.executable).parent / "qm")


@pytest.fixture
def qm_env(live_server):
    env = {key: value for key, value in os.environ.items() if not key.startswith("QM_")}
    return {**env, "QM_URL": live_server.url, "QM_TOKEN": TOKEN}


def qm(env, *args, timeout=120) -> subprocess.CompletedProcess:
    return subprocess.run([QM, *args], env=env, capture_output=True, timeout=timeout, check=False)


def _sigint_as_on_a_terminal():
    """A shell started without a terminal (a CI job, nohup, `make test &`) starts its background
    commands with SIGINT ignored, and a Python started so installs no KeyboardInterrupt handler:
    `qm` gets the test's SIGINT as it would from a terminal's Ctrl-C, however pytest was started.
    SIGHUP likewise: `nohup` starts its command with it ignored."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGHUP, signal.SIG_DFL)


class Running:
    """A `qm` started in the background, its stdout and stderr read line by line as they come."""

    def __init__(self, env, *args):
        self.process = subprocess.Popen(
            [QM, *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            preexec_fn=_sigint_as_on_a_terminal,
        )  # fmt: skip
        self.lines = {"stdout": queue.Queue(), "stderr": queue.Queue()}
        self.seen = {"stdout": [], "stderr": []}
        self.readers = {
            name: threading.Thread(target=self._read, args=(name,), daemon=True)
            for name in self.lines
        }
        for reader in self.readers.values():
            reader.start()

    def _read(self, name):
        for line in getattr(self.process, name):
            self.lines[name].put(line.decode(errors="replace"))

    def wait_for(self, name, text, timeout=60) -> str:
        """The first line of stream `name` holding `text` (waiting for it)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.lines[name].get(timeout=0.2)
            except queue.Empty:
                continue
            self.seen[name].append(line)
            if text in line:
                return line
        raise AssertionError(f"no {text!r} on {name} within {timeout}s: {self.seen[name]}")

    def interrupt(self, number=signal.SIGINT):
        self.process.send_signal(number)

    def exit_code(self, timeout=90) -> int:
        return self.process.wait(timeout)

    def rest(self, name) -> str:
        """All the stream said, once qm has exited and its reader has read to the end."""
        self.process.wait(60)
        self.readers[name].join(10)
        while not self.lines[name].empty():
            self.seen[name].append(self.lines[name].get())
        return "".join(self.seen[name])


def test_run_prints_the_jobs_output_and_exits_0(lab, qm_env):
    ran = qm(qm_env, "run", lab.image, "echo", "hi")
    assert (ran.returncode, ran.stdout, ran.stderr) == (0, b"hi\n", b"")


def test_run_splits_the_streams_and_exits_with_the_jobs_code(lab, qm_env):
    ran = qm(qm_env, "run", lab.image, "sh", "-c", "echo out; echo err >&2; exit 3")
    assert (ran.returncode, ran.stdout) == (3, b"out\n")
    assert b"err\n" in ran.stderr


def test_output_that_is_not_utf8_does_not_stop_qm(lab, qm_env):
    ran = qm(qm_env, "run", lab.image, "printf", "caf\\351\\n")
    # Docker's log driver keeps text as UTF-8, replacing what is not; qm passes on what it gets.
    assert (ran.returncode, ran.stdout) == (0, "caf\ufffd\n".encode())


def test_a_pending_job_says_why_and_ctrl_c_stops_it(lab, qm_env, qm_client):
    running = Running(qm_env, "run", "--memory", "4000000", lab.image, "true")
    line = running.wait_for("stderr", "no suitable node")
    assert line.startswith("qm: pending") and "insufficient resources" in line, line
    running.interrupt()
    stopping = running.wait_for("stderr", "stopping")
    job_id = stopping.split()[2].rstrip("…")
    assert running.exit_code() == 130
    assert qm_client.status(job_id).status == "shutdown"


def test_ctrl_c_stops_a_running_job_and_exits_130(lab, qm_env, qm_client):
    running = Running(qm_env, "run", lab.image, "sh", "-c", "echo started; sleep 300")
    running.wait_for("stdout", "started")
    running.interrupt()
    stopping = running.wait_for("stderr", "stopping")
    assert "Ctrl-C again to leave it running" in stopping
    job_id = stopping.split()[2].rstrip("…")
    assert running.exit_code() == 130
    assert qm_client.status(job_id).status == "shutdown"


@pytest.mark.alone  # the second Ctrl-C must land within qm's 2 s: on a busy host it may not
def test_a_second_ctrl_c_leaves_the_job_running(lab, qm_env, qm_client):
    running = Running(qm_env, "run", lab.image, "sh", "-c", "echo started; sleep 300")
    running.wait_for("stdout", "started")
    running.interrupt()
    job_id = running.wait_for("stderr", "stopping").split()[2].rstrip("…")
    running.interrupt()
    assert running.exit_code(timeout=10) == 130
    said = running.rest("stderr")
    assert f"left running: {job_id}" in said, (said, qm_client.status(job_id).status)
    time.sleep(3)  # past the grace after which a first Ctrl-C would have stopped it
    assert qm_client.status(job_id).status == "started"
    qm_client.stop(job_id)


@pytest.mark.parametrize(("number", "status"), [(signal.SIGTERM, 143), (signal.SIGHUP, 129)])
def test_sigterm_or_sighup_stops_a_running_job_like_ctrl_c(lab, qm_env, qm_client, number, status):
    """`timeout 60 qm run …`, a cancelled CI job, a closed terminal: the job does not outlive qm."""
    running = Running(qm_env, "run", lab.image, "sh", "-c", "echo started; sleep 300")
    running.wait_for("stdout", "started")
    running.interrupt(number)
    stopping = running.wait_for("stderr", "stopping")
    assert f"({signal.Signals(number).name}; Ctrl-C to leave it running)" in stopping
    job_id = stopping.split()[2].rstrip("…")
    assert running.exit_code() == status, running.rest("stderr")
    assert qm_client.status(job_id).status == "shutdown", qm_client.history(job_id).timeline


def _on_its_own_terminal():
    """qm leads a session of its own whose controlling terminal is its stdout, a pseudo-terminal:
    when the terminal closes, the kernel hangs it up and sends qm SIGHUP, as on a closed window
    or a dropped ssh connection."""
    _sigint_as_on_a_terminal()
    fcntl.ioctl(1, termios.TIOCSCTTY, 0)


def test_a_closed_terminal_stops_the_job_and_qm_exits_129(lab, qm_env, qm_client):
    controller, terminal = pty.openpty()
    name = f"hangup-{os.getpid()}-{time.monotonic_ns()}"
    process = subprocess.Popen(
        [QM, "run", "--name", name, lab.image, "sh", "-c", "echo started; sleep 300"],
        env=qm_env, stdin=subprocess.DEVNULL, stdout=terminal, stderr=terminal,
        start_new_session=True, preexec_fn=_on_its_own_terminal,
    )  # fmt: skip
    os.close(terminal)
    shown = b""
    deadline = time.monotonic() + 60
    while b"started" not in shown and time.monotonic() < deadline:
        shown += os.read(controller, 65536)
    assert b"started" in shown, shown
    os.close(controller)  # the window closes: the terminal hangs up, its writes fail (EIO)
    assert process.wait(90) == 129
    assert qm_client.status(name).status == "shutdown", qm_client.history(name).timeline


@pytest.mark.parametrize(("number", "status"), [(signal.SIGTERM, 143), (signal.SIGHUP, 129)])
def test_no_stop_on_signal_leaves_the_job_running(lab, qm_env, qm_client, number, status):
    running = Running(
        qm_env, "run", "--no-stop-on-signal", lab.image, "sh", "-c", "echo started; sleep 300"
    )
    running.wait_for("stdout", "started")
    running.interrupt(number)
    assert running.exit_code(timeout=10) == status
    left = running.rest("stderr")
    assert f"{signal.Signals(number).name}: left running: " in left, left
    job_id = left.rsplit("left running: ", 1)[1].split()[0]
    time.sleep(3)  # past the grace after which a stop would have been sent
    # Not stopped, not ended: still the swarm's (a lab node busy with other tests may have it
    # pending again, placed anew).
    job = qm_client.status(job_id)
    assert not job.is_final, (job, qm_client.history(job_id).timeline)
    qm_client.stop(job_id)


def test_detach_prints_the_id(lab, qm_env, qm_client):
    ran = qm(qm_env, "run", "-d", lab.image, "sleep", "30")
    job_id = ran.stdout.decode().strip()
    assert ran.returncode == 0 and len(job_id) == 25
    assert qm_client.status(job_id).id == job_id
    ran = qm(qm_env, "run", "-d", "--json", lab.image, "true")
    assert len(json.loads(ran.stdout)["id"]) == 25


def test_json_outputs_parse(lab, qm_env):
    ran = qm(qm_env, "run", "--json", "--name", "cli-json", lab.image, "sh", "-c", "exit 3")
    assert ran.returncode == 3
    final = json.loads(ran.stdout)
    assert (final["name"], final["status"], final["exit_code"]) == ("cli-json", "failed", 3)
    status = json.loads(qm(qm_env, "status", "--json", "cli-json").stdout)
    assert status["id"] == final["id"]
    jobs = json.loads(qm(qm_env, "jobs", "--json", "--name", "cli-json").stdout)
    assert [job["id"] for job in jobs] == [final["id"]]
    nodes = json.loads(qm(qm_env, "nodes", "--json").stdout)
    assert len([node for node in nodes if node["role"] == "worker"]) == lab.workers
    health = json.loads(qm(qm_env, "health", "--json").stdout)
    assert health["success"] is True


def test_status_waits_and_logs_reads_a_jobs_output(lab, qm_env):
    job_id = qm(qm_env, "run", "-d", lab.image, "sh", "-c", "echo a; echo b").stdout.decode()
    status = qm(qm_env, "status", "--wait", "30", job_id.strip())
    assert status.returncode == 0 and b"status:" in status.stdout and b"complete" in status.stdout
    logs = qm(qm_env, "logs", "--tail", "1", job_id.strip())
    assert (logs.returncode, logs.stdout) == (0, b"b\n")


def test_logs_follow_streams_until_ctrl_c(lab, qm_env, qm_client):
    script = "echo started; sleep 300"
    job_id = qm(qm_env, "run", "-d", lab.image, "sh", "-c", script).stdout.decode().strip()
    following = Running(qm_env, "logs", "-f", job_id)
    following.wait_for("stdout", "started")
    following.interrupt()
    assert following.exit_code(timeout=10) == 130
    assert following.rest("stderr") == ""  # quietly
    assert qm_client.status(job_id).status == "started"  # qm logs never stops a job
    qm_client.stop(job_id)


def test_stopping_an_unknown_job_fails_with_the_servers_message(qm_env):
    stopped = qm(qm_env, "stop", "no-such-job-anywhere")
    assert stopped.returncode == 1
    assert stopped.stderr.startswith(b"qm: no such job (HTTP 404) [request ")


def test_jobs_and_nodes_tables(lab, qm_env):
    job_id = qm(qm_env, "run", "-d", "--name", "cli-table", lab.image, "true").stdout.strip()
    table = qm(qm_env, "jobs").stdout.decode().splitlines()
    assert table[0].split()[:4] == ["ID", "NAME", "IMAGE", "STATUS"]
    assert any(line.split()[:3] == [job_id[:12].decode(), "cli-table", lab.image] for line in table)
    nodes = qm(qm_env, "nodes").stdout.decode()
    assert "lab-worker-1" in nodes and "lab-worker-2" in nodes and "\x1b" not in nodes


def test_health(qm_env):
    health = qm(qm_env, "health")
    assert health.returncode == 0 and health.stdout.startswith(b"healthy: docker ok")


def test_an_unreachable_server_exits_1(qm_env):
    ran = qm({**qm_env, "QM_URL": "http://127.0.0.1:9"}, "status", "x")
    assert ran.returncode == 1 and b"http://127.0.0.1:9/status/x" in ran.stderr
    assert TOKEN.encode() not in ran.stderr


# The window's title, the clipboard (OSC 52) and a CSI as a C1 character (U+009B in UTF-8).
HOSTILE_PRINTF = "\\033]0;owned\\007\\033]52;c;aGk=\\007ok \\302\\23331mred\\n"
HOSTILE_BYTES = b"\x1b]0;owned\x07\x1b]52;c;aGk=\x07ok \xc2\x9b31mred\n"


def on_a_terminal(env, *args) -> tuple[int, bytes]:
    """qm's exit status and what its stdout, a pseudo-terminal, showed."""
    import pty

    controller, terminal = pty.openpty()
    process = subprocess.Popen([QM, *args], env=env, stdout=terminal, stderr=subprocess.DEVNULL)
    os.close(terminal)
    shown = b""
    while True:
        try:
            data = os.read(controller, 65536)
        except OSError:  # EIO: qm has exited and the terminal is closed
            break
        if not data:
            break
        shown += data
    os.close(controller)
    return process.wait(60), shown


def test_a_jobs_escape_sequences_reach_a_terminal_stripped_and_a_pipe_unchanged(lab, qm_env):
    code, shown = on_a_terminal(qm_env, "run", lab.image, "printf", HOSTILE_PRINTF)
    assert code == 0
    assert shown == b"]0;owned]52;c;aGk=ok 31mred\r\n"  # the terminal adds its \r
    piped = qm(qm_env, "run", "-d", lab.image, "printf", HOSTILE_PRINTF)
    job_id = piped.stdout.decode().strip()
    Client(qm_env["QM_URL"], token=TOKEN).wait(job_id, timeout=60)
    assert qm(qm_env, "logs", job_id).stdout == HOSTILE_BYTES
    code, shown = on_a_terminal(qm_env, "logs", "--raw", job_id)
    assert HOSTILE_BYTES.replace(b"\n", b"\r\n") == shown


def test_a_line_longer_than_the_clients_longest_comes_whole_in_pieces(lab, qm_env, qm_client):
    # 3 MiB without a newline, then one: 48 of the client's 64 KiB pieces. (Read once the job
    # has ended, without timestamps: a follow asks for them, and Docker gives each 16 KiB part
    # of a long line its own.)
    script = "head -c 3145728 /dev/zero | tr '\\0' x; echo; echo after"
    job_id = qm_client.run(lab.image, ["sh", "-c", script])
    assert qm_client.wait(job_id, timeout=60).status == "complete"
    started = time.monotonic()
    shown = qm(qm_env, "logs", job_id)
    assert shown.stdout == b"x" * 3 * 1024 * 1024 + b"\nafter\n"
    assert time.monotonic() - started < 30  # generous: one pass, not a search per chunk
