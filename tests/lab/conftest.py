"""The lab tier's fixtures: the lab swarm's facts, a Docker client to its manager, the app over
the swarm, live servers; every job a test makes removed after it, and every log of the run
searched for secrets at its end.

These tests run against the real lab swarm (`make lab`). When the lab is not up, they fail with
"run make lab"; they never skip. (Helpers: tests/support/lab.py.)
"""

import contextlib
import json
from collections.abc import Callable, Iterator

import docker
import pytest

import support.lab
from quartermaster.compose import compose_app
from quartermaster.jobs import labels
from quartermaster.jobs.errors import JobNotFound
from quartermaster.swarm.docker_connection import DockerConnection
from quartermaster.swarm.engine import EngineClient
from quartermaster.swarm.removal import remove_job_service
from support.api import ApiClient
from support.lab import (
    LAB_FACTS,
    LAB_LOGS,
    LIVE_SERVER_LOGS,
    MANAGER_SOCKET,
    TEST_LABEL,
    Lab,
    LiveServer,
    lab_config,
    lab_secrets,
)
from support.nginx import Nginx
from support.postgres import (
    LOOPBACK,
    Postgres,
    create_database,
    database_url,
    drop_database,
    drop_fresh_databases,
    drop_leftover_databases,
    fresh_database,
    postgres_answers,
    postgres_facts,
)
from support.secret_search import logs_searched_for
from support.settings import TOKEN, fresh_store_url


@pytest.fixture(scope="session")
def lab() -> Lab:
    if not LAB_FACTS.exists():
        pytest.fail(f"the lab swarm is not up ({LAB_FACTS} is missing): run make lab")
    facts = json.loads(LAB_FACTS.read_text())
    client = docker.DockerClient(base_url=MANAGER_SOCKET, timeout=10)
    try:
        nodes = client.api.nodes(filters={"role": "worker"})
    except docker.errors.DockerException as error:
        pytest.fail(f"the lab's manager does not answer ({error}): run make lab")
    ready = [node for node in nodes if node["Status"]["State"] == "ready"]
    if len(ready) < facts["workers"]:
        pytest.fail(f"{len(ready)} of {facts['workers']} lab workers are ready: run make lab")
    return Lab(
        workers=facts["workers"],
        registry=facts["registry"],
        registry_user=facts["registry_user"],
        registry_password=facts["registry_password"],
        image=facts["image"],
        private_image=facts["private_image"],
        worker_sockets=tuple(facts["worker_sockets"]),
    )


@pytest.fixture(scope="session")
def postgres() -> Iterator[Postgres]:
    """The lab's PostgreSQL, answering. Test databases left by runs that died are dropped first;
    those fresh_database_url() made in this run, at its end."""
    try:
        facts = postgres_facts()
    except RuntimeError as error:
        pytest.fail(str(error))
    if not postgres_answers():
        pytest.fail(f"the lab's PostgreSQL does not answer on {facts.socket_dir}: run make lab")
    drop_leftover_databases()
    yield facts
    drop_fresh_databases()


@pytest.fixture
def postgres_url(postgres) -> Iterator[str]:
    """A new empty database on the lab's PostgreSQL for this test, as user qm over TCP on
    loopback (a SQLAlchemy URL, postgresql+psycopg://); dropped after the test."""
    with fresh_database() as url:
        yield url


@pytest.fixture
def postgres_url_factory(postgres) -> Iterator[Callable[..., str]]:
    """make(host=LOOPBACK): a new empty database's URL, reached at `host` (127.0.0.1; the lab
    bridge's address, postgres.bridge_address, for containers; the socket's directory,
    postgres.socket_dir, for the socket). Every database it made is dropped after the test."""
    made = []

    def make(host: str = LOOPBACK) -> str:
        made.append(create_database())
        return database_url(made[-1], host)

    yield make
    for name in made:
        drop_database(name)


@pytest.fixture(scope="session", autouse=True)
def secrets_never_logged(tmp_path_factory):
    """Every log the run writes, searched for the secrets at its end: the in-process apps'
    records, the live servers' logs, and what the lab's daemons logged during the run."""
    lab_log_starts = {path: path.stat().st_size for path in LAB_LOGS}

    def other_logs():
        return {**dict.fromkeys(LIVE_SERVER_LOGS, 0), **lab_log_starts}

    with logs_searched_for(lab_secrets, tmp_path_factory.mktemp("logs"), other_logs):
        yield


@pytest.fixture(autouse=True)
def record_store_of_the_test(monkeypatch):
    """Each test's history starts empty: the apps and reapers it makes in-process (lab_config)
    share a store of its own."""
    monkeypatch.setattr(support.lab, "LAB_STORE_URL", fresh_store_url())


@pytest.fixture(scope="session")
def docker_client(lab) -> docker.DockerClient:
    return docker.DockerClient(base_url=MANAGER_SOCKET, timeout=30)


@pytest.fixture(scope="session")
def docker_engine(lab) -> EngineClient:
    """quartermaster's own client to the lab's manager."""
    return DockerConnection(MANAGER_SOCKET, timeout=30).engine


@pytest.fixture(autouse=True)
def remove_created_services(request):
    """Remove every job and test service a test created, even when it fails: every test on the
    lab (one that asked only for `lab` leaves its jobs too, and a job left behind shows in the
    next tests' /jobs, whose reapers import it)."""
    if not {"docker_client", "lab"} & set(request.fixturenames):
        yield
        return
    client = request.getfixturevalue("docker_client")
    engine = request.getfixturevalue("docker_engine")
    before = {service["ID"] for service in _test_services(client)}
    yield
    created = [service for service in _test_services(client) if service["ID"] not in before]
    # Callback records, Idempotency-Key claims and logs set aside (quartermaster-callback-...,
    # -key-..., -log-...).
    records = client.api.configs(filters={"name": "quartermaster-"})
    # Every job and config the run makes is searched for secrets before it goes (a log set
    # aside: its name and labels; its data is the job's own output, base64).
    jobs = [service for service in created if labels.is_job(service)]
    leaks = [name for name, value in lab_secrets().items() if value in json.dumps([jobs, records])]
    for service in created:
        with contextlib.suppress(JobNotFound):
            remove_job_service(engine, service)
    for record in records:
        with contextlib.suppress(docker.errors.NotFound):
            client.api.remove_config(record["ID"])
    assert not leaks, f"secrets in a job's service, a callback record or a claim: {leaks}"


def _test_services(client):
    jobs = client.api.services(filters={"label": f"{labels.JOB}=true"})
    direct = client.api.services(filters={"label": TEST_LABEL})
    return jobs + direct


@pytest.fixture
def private_image_not_on_workers(lab):
    """Workers keep an image once pulled and run it without credentials; start without it."""
    for socket_url in lab.worker_sockets:
        worker = docker.DockerClient(base_url=socket_url, timeout=30)
        with contextlib.suppress(docker.errors.ImageNotFound):
            worker.api.remove_image(lab.private_image, force=True)
    return lab.private_image


@pytest.fixture
def app(docker_client):
    return compose_app(lab_config())


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def api(client):
    """The test client with the token sent as a Bearer header."""
    return ApiClient(client)


@pytest.fixture
def live_server_factory(docker_client, tmp_path):
    """Start real servers with extra flags and environment; stop them and check their logs."""
    servers = []

    def start(*args: str, env: dict | None = None, ready_path: str = "/healthz") -> LiveServer:
        log_path = tmp_path / f"quartermaster-{len(servers)}.log"
        servers.append(LiveServer(log_path, *args, env=env, ready_path=ready_path).start())
        return servers[-1]

    yield start
    for server in servers:  # all stopped before any check: a failed one leaves none running
        server.stop()
    for server in servers:
        assert TOKEN not in server.log_text(), "the token leaked into the server's log"
        assert "Traceback" not in server.log_text(), server.log_text()


@pytest.fixture
def live_server(live_server_factory):
    return live_server_factory()


@pytest.fixture
def nginx_factory(tmp_path):
    """start(upstream_port): a real nginx with deploy/nginx.conf in front of that port; every
    one started is stopped after the test."""
    started = []

    def start(upstream_port: int) -> Nginx:
        directory = tmp_path / f"nginx{len(started)}"
        directory.mkdir()
        started.append(Nginx(directory, upstream_port))
        return started[-1]

    yield start
    for nginx in started:
        nginx.stop()
