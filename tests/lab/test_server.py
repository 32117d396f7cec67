"""The `quartermaster` command under gunicorn: the seed's curl examples, flags, and its logs."""

import base64
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from support.lab import DEPLOYMENT, MANAGER_SOCKET, PRIVATE_IMAGE, ServerApi, free_port, wait_until
from support.settings import PROJECT_ROOT, TOKEN

QUARTERMASTER = str(Path(sys.executable).parent / "quartermaster")


def curl(*args: str) -> dict:
    """Run curl as the seed's README does; return the parsed JSON answer."""
    result = subprocess.run(
        ["curl", "-sS", *args], capture_output=True, text=True, timeout=30, check=True
    )
    return json.loads(result.stdout)


def seed(url: str, server) -> str:
    """The seed's examples talk to localhost:9090; ours listens on a free port."""
    return url.replace("http://localhost:9090", server.url)


def test_the_seed_curl_examples(lab, live_server):
    # /run exactly as in the seed, but for the token and an image the lab has.
    ran = curl(
        "-X", "POST",
        seed("http://localhost:9090/run", live_server),
        "-H", "cache-control: no-cache",
        "-H", "content-type: application/json",
        "-d", json.dumps({
            "token": TOKEN,
            "command": "node index.js",
            "image": lab.image,
            "name": "my_service",
            "labels": {"name": "value"},
            "memory": 1024,
        }, indent=2),
    )  # fmt: skip
    assert ran["success"] is True
    job_id = ran["id"]

    # /status as in the seed: token in the query, and a JSON body that is ignored.
    status = curl(
        "-X", "GET",
        seed(f"http://localhost:9090/status/{job_id}?token={TOKEN}", live_server),
        "-H", "content-type: application/json",
        "-d", json.dumps({
            "token": TOKEN,
            "command": "sleep 50",
            "image": "alpine",
            "memory": 250,
            "labels": {"name": "value"},
            "type": "service",
        }),
    )  # fmt: skip
    assert status["success"] is True
    assert status["id"] == job_id
    assert status["name"] == "my_service"
    assert status["status"] in {"pending", "rejected"}

    # /stop as in the seed.
    stopped = curl(
        "-X", "POST",
        seed("http://localhost:9090/stop", live_server),
        "-H", "cache-control: no-cache",
        "-H", "content-type: application/json",
        "-d", json.dumps({"token": TOKEN, "id": job_id}),
    )  # fmt: skip
    assert stopped == {"success": True, "id": job_id}


@pytest.mark.xdist_group(PRIVATE_IMAGE)  # it removes the private image from the workers
def test_the_seed_private_registry_example(lab, live_server, private_image_not_on_workers):
    auth = {
        "username": lab.registry_user,
        "password": lab.registry_password,
        "auth": "",
        "email": "qm@example.com",
    }
    encoded = base64.b64encode(json.dumps(auth).encode()).decode()
    body = f'{{\n  "token": "{TOKEN}",\n  "command": "sleep 1",\n  "image": "{lab.image}",\n'
    # The seed's example ends its JSON with a trailing comma: that is not JSON, and says so.
    broken = body.replace(lab.image, lab.private_image) + f'  "auth":"{encoded}",\n}}'
    answer = curl(
        "-X", "POST", f"{live_server.url}/run",
        "-H", "cache-control: no-cache", "-H", "content-type: application/json",
        "-d", broken,
    )  # fmt: skip
    assert answer == {
        "success": False,
        "code": 400,
        "error": "the body is not valid JSON",
        "request_id": answer["request_id"],
    }
    fixed = broken.replace('",\n}', '"\n}')
    answer = curl(
        "-X", "POST", f"{live_server.url}/run",
        "-H", "content-type: application/json", "-d", fixed,
    )  # fmt: skip
    job_id = answer["id"]
    for _ in range(240):
        status = requests.get(f"{live_server.url}/status/{job_id}?token={TOKEN}", timeout=10)
        if status.json()["status"] in {"complete", "failed", "rejected"}:
            break
        time.sleep(0.25)
    assert status.json()["status"] == "complete"
    assert lab.registry_password not in live_server.log_text()
    assert encoded not in live_server.log_text()


def test_the_access_log_is_json_lines_without_the_token(live_server):
    requests.get(f"{live_server.url}/status/nosuchjob?token={TOKEN}", timeout=10)
    requests.get(f"{live_server.url}/status/{TOKEN}?token={TOKEN}", timeout=10)
    ran = live_server.client().run(headers={"X-Request-ID": "trace-42"}, image="qm/busybox:latest")
    time.sleep(0.5)
    lines = [json.loads(line) for line in live_server.log_text().splitlines() if line[:1] == "{"]
    access = [line for line in lines if line["logger"] == "quartermaster.access"]
    assert [(a["method"], a["route"], a["status"]) for a in access[-3:]] == [
        ("GET", "/status/<job_id>", 404),
        ("GET", "/status/<job_id>", 400),  # the token as an id: refused before Docker
        ("POST", "/run", 200),
    ]
    assert access[-1]["request_id"] == "trace-42"
    assert access[-1]["job_id"] == ran.json()["id"]
    assert access[-2]["job_id"] is None  # an unconfirmed id from the path is not logged
    assert all(isinstance(a["duration_ms"], float) for a in access)
    assert TOKEN not in live_server.log_text()


def test_flags_win_over_the_environment(live_server_factory):
    server = live_server_factory("--token", "a-flag-token-0123", env={"TOKEN": TOKEN})
    url = f"{server.url}/status/nosuchjob"
    assert requests.get(url, params={"token": TOKEN}, timeout=10).status_code == 401
    assert requests.get(url, params={"token": "a-flag-token-0123"}, timeout=10).status_code == 404
    assert "warning: --token puts the token on the command line" in server.log_text()


def test_no_token_exits_2_with_a_clear_message():
    # No TOKEN, nothing else of the environment but where the code under test is.
    env = {"PATH": "/usr/bin", "PYTHONPATH": os.environ.get("PYTHONPATH", "")}
    result = subprocess.run([QUARTERMASTER], capture_output=True, text=True, timeout=30, env=env)
    assert result.returncode == 2
    assert "no token: set TOKEN_FILE (a file holding it) or TOKEN" in result.stderr


def test_help_documents_every_flag_and_variable():
    result = subprocess.run([QUARTERMASTER, "--help"], capture_output=True, text=True, check=True)
    for word in ["--token-file", "TOKEN_FILE", "--token", "TOKEN",
                 "--port", "PORT", "--memory", "MEMORY", "--bind", "BIND",
                 "--workers", "WORKERS", "--worker-connections", "WORKER_CONNECTIONS",
                 "--constraint", "CONSTRAINTS",
                 "--docker-timeout", "DOCKER_TIMEOUT", "DOCKER_HOST",
                 "--max-long-requests", "MAX_LONG_REQUESTS",
                 "--follow-max-seconds", "FOLLOW_MAX_SECONDS"]:  # fmt: skip
        assert word in result.stdout


def test_plain_gunicorn_with_the_config_file_runs_the_same_service(lab, docker_client, tmp_path):
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {**os.environ, "TOKEN": TOKEN, "BIND": "127.0.0.1", "PORT": str(port),
           "REAPER_INTERVAL": "0.5", "DOCKER_HOST": MANAGER_SOCKET, "DEPLOYMENT": DEPLOYMENT,
           "DATA_DIR": str(tmp_path / "data")}  # fmt: skip
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    log_path = tmp_path / "gunicorn.log"
    gunicorn = str(Path(sys.executable).parent / "gunicorn")
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [gunicorn, "-c", "gunicorn.conf.py", "wsgi:app"],
            cwd=PROJECT_ROOT, env=env, stdout=log, stderr=log,
        )  # fmt: skip
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                if requests.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            except requests.ConnectionError:
                time.sleep(0.2)
        api = ServerApi(url)
        job_id = api.run_ok(image=lab.image, command="true", ttl=0)
        # Its reaper records the finished job, removes its service, then its record (ttl 0).
        wait_until(
            lambda: api.get(f"/status/{job_id}").status_code == 404,
            timeout=30,
            message="the finished job was never removed with its record",
        )
        metrics = api.get("/metrics").text
        assert 'quartermaster_reaper_actions_total{action="expired"} 1.0' in metrics
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=15) == 0
    lines = [json.loads(line) for line in log_path.read_text().splitlines() if line[:1] == "{"]
    assert any(line.get("route") == "/run" and line["status"] == 200 for line in lines)
    assert TOKEN not in log_path.read_text()
