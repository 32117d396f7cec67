"""The tests' secrets and settings."""

import secrets
from pathlib import Path

from quartermaster.process.config import Config

TOKEN = "test-" + secrets.token_urlsafe(16)
BEARER = {"Authorization": f"Bearer {TOKEN}"}
CALLBACK_SECRET = "callback-" + secrets.token_urlsafe(16)
PROJECT_ROOT = Path(__file__).resolve().parents[2]
# A Docker host that is not there: whatever reaches it fails at once (the unit tier's Docker).
NO_DOCKER = "unix:///nonexistent/docker.sock"


def make_config(**settings) -> Config:
    """The tests' settings: no Docker unless a test names one (the lab's tests name the lab's
    manager), and private callback addresses allowed (the tests' receivers are on loopback)."""
    defaults = {"token": TOKEN, "docker_host": NO_DOCKER, "callback_allow_private": True}
    return Config(**{**defaults, **settings})
