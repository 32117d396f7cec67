"""The README's quick start, as a newcomer types it: `make run` (scripts/run.sh, without a
token given), then `qm run` with the token file it names; the same token after a restart."""

import json
import os
import re
import signal
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from support.lab import UNNAMED_DEPLOYMENT, free_port, wait_until
from support.settings import PROJECT_ROOT

# make run: the unnamed deployment, on port 9090.
pytestmark = pytest.mark.xdist_group(UNNAMED_DEPLOYMENT)


QM = str(Path(sys.executable).parent / "qm")


class MakeRun:
    """scripts/run.sh (what `make run` runs once installed) with its output captured."""

    def __init__(self, data_dir: Path, log_path: Path):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {key: value for key, value in os.environ.items() if not key.startswith("QM_")}
        for name in ("TOKEN", "TOKEN_FILE", "DATABASE_URL", "DOCKER_HOST"):
            env.pop(name, None)
        self.log_path = log_path
        with log_path.open("ab") as log:
            self.process = subprocess.Popen(
                ["scripts/run.sh", "--bind", "127.0.0.1", "--port", str(self.port)],
                cwd=PROJECT_ROOT, env={**env, "DATA_DIR": str(data_dir)}, stdout=log,
                stderr=subprocess.STDOUT,
            )  # fmt: skip
        wait_until(self.answers, timeout=30, message=f"make run did not start: {self.output()}")

    def answers(self) -> bool:
        assert self.process.poll() is None, self.output()
        try:
            return requests.get(f"{self.url}/healthz", timeout=2).status_code == 200
        except requests.ConnectionError:
            return False

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(timeout=30)


@pytest.fixture
def started(tmp_path, docker_client):
    servers = []

    def start() -> MakeRun:
        log_path = tmp_path / f"make-run-{len(servers)}.log"
        servers.append(MakeRun(tmp_path / "data", log_path))
        return servers[-1]

    yield start
    for server in servers:
        if server.process.poll() is None:
            server.stop()


def qm(server: MakeRun, token_file: str, *args: str) -> subprocess.CompletedProcess:
    env = {key: value for key, value in os.environ.items() if not key.startswith("QM_")}
    env |= {"QM_URL": server.url, "QM_TOKEN_FILE": token_file}
    return subprocess.run([QM, *args], env=env, capture_output=True, timeout=120, check=False)


def test_make_run_then_qm_run(started, lab):
    server = started()
    match = re.search(r"export QM_TOKEN_FILE=(\S+)", server.output())
    assert match, server.output()
    token_file = match.group(1)
    assert stat.S_IMODE(os.stat(token_file).st_mode) == 0o600
    token = Path(token_file).read_text().strip()
    assert token not in server.output()

    hello = qm(server, token_file, "run", lab.image, "echo", "hi")
    assert (hello.returncode, hello.stdout) == (0, b"hi\n"), hello.stderr
    three = qm(server, token_file, "run", lab.image, "sh", "-c", "exit 3")
    assert three.returncode == 3, three.stderr
    listed = qm(server, token_file, "jobs", "--json")
    assert listed.returncode == 0, listed.stderr
    assert [job["status"] for job in json.loads(listed.stdout)] == ["failed", "complete"]

    server.stop()  # the same token once started again
    server = started()
    assert "generated" not in server.output()
    assert Path(token_file).read_text().strip() == token
    again = qm(server, token_file, "run", lab.image, "echo", "again")
    assert (again.returncode, again.stdout) == (0, b"again\n"), again.stderr
