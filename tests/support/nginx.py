"""A real nginx running deploy/nginx.conf in front of a server (tests/lab/conftest.py's
nginx_factory starts them)."""

import subprocess
import time

import requests

from support.lab import LIVE_SERVER_LOGS, free_port
from support.settings import PROJECT_ROOT

NGINX_CONF = PROJECT_ROOT / "deploy" / "nginx.conf"


class Nginx:
    """deploy/nginx.conf as it is, but for where it listens and where quartermaster is."""

    def __init__(self, directory, upstream_port: int):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = NGINX_CONF.read_text()
        for old, new in [
            ("listen 80;", f"listen 127.0.0.1:{self.port};"),
            ("http://quartermaster:9090", f"http://127.0.0.1:{upstream_port}"),
            ("pid /tmp/nginx.pid;", f"pid {directory}/nginx.pid;"),
        ]:
            assert old in config
            config = config.replace(old, new)
        (directory / "nginx.conf").write_text(config)
        self.log_path = directory / "nginx.log"
        LIVE_SERVER_LOGS.append(self.log_path)  # searched for secrets at the end of the run
        self.process = subprocess.Popen(
            ["nginx", "-c", str(directory / "nginx.conf"), "-p", str(directory),
             "-g", "daemon off;"],
            stderr=self.log_path.open("wb"),
        )  # fmt: skip
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                requests.get(self.url, timeout=1)
                return
            except requests.ConnectionError:
                time.sleep(0.1)
        raise AssertionError("nginx did not start: " + self.log_path.read_text())

    def stop(self):
        self.process.terminate()
        self.process.wait(timeout=10)
