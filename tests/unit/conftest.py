"""The unit tier: no Docker at all. The HTTP layer runs over the in-memory runtime
(support/fake_runtime.py); an app over the swarm runtime, where a test wants one, has a Docker
host that does not exist, and so has every test's environment: whatever reaches for Docker fails
at once."""

import pytest

from quartermaster.client import Client
from quartermaster.compose import compose_app
from quartermaster.store import RecordStore
from support.api import ApiClient
from support.fake_runtime import FakeRuntime
from support.scripted_server import ScriptedServer
from support.secret_search import logs_searched_for
from support.settings import CALLBACK_SECRET, NO_DOCKER, TOKEN, make_config

# A wait for a job of the in-memory runtime looks again this often (its jobs start in 0.2 s).
POLL_SECONDS = 0.02


@pytest.fixture(autouse=True)
def no_docker(monkeypatch):
    monkeypatch.setenv("DOCKER_HOST", NO_DOCKER)


@pytest.fixture(scope="session", autouse=True)
def secrets_never_logged(tmp_path_factory):
    """Every record the run logs, searched for the token and the callback secret at its end."""
    secrets = {"the token": TOKEN, "the callback secret": CALLBACK_SECRET}
    with logs_searched_for(lambda: secrets, tmp_path_factory.mktemp("logs")):
        yield


@pytest.fixture
def runtime():
    return FakeRuntime(make_config())


@pytest.fixture
def app(runtime):
    config = make_config()
    store = RecordStore(config.store_url)
    # Opened now (its schema made and checked), as the master does before the workers: a
    # test's first request times what it asks, not the making of a store.
    store.live()
    yield compose_app(config, runtime, store)
    store.close()


@pytest.fixture
def flask_client(app):
    return app.test_client()


@pytest.fixture
def api(flask_client):
    """The test client with the token sent as a Bearer header."""
    return ApiClient(flask_client, poll_seconds=POLL_SECONDS)


# The client and qm against a scripted server on loopback (support/scripted_server.py).


@pytest.fixture
def scripted_server():
    """A server on loopback answering what the test scripts, recording what it received."""
    scripted = ScriptedServer()
    yield scripted
    scripted.close()


@pytest.fixture
def elsewhere():
    """Another scripted server, where a redirect points: it must never be called."""
    scripted = ScriptedServer()
    yield scripted
    scripted.close()


@pytest.fixture
def qm_client(scripted_server):
    """Our Client (quartermaster.client) to the scripted server."""
    with Client(scripted_server.url, token=TOKEN, timeout=5) as made:
        yield made
