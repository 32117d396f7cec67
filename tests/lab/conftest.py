"""The lab tier's fixtures: the lab swarm's facts, a Docker client to its manager, the app over
the swarm, live servers; every job a test makes removed after it, and every log of the run
searched for secrets at its end.

These tests run against the real lab swarm (`make lab`). When the lab is not up, they fail with
"run make lab"; they never skip. (Helpers: tests/support/lab.py; how the tests are handed to
make test-lab's processes: tests/support/lab_scheduling.py.) About 340 lines: every fixture of the
tier in one place.
"""

import contextlib
import json
from collections.abc import Callable, Iterator
from pathlib import Path

import docker
import pytest

import support.lab
from quartermaster.client import Client
from quartermaster.compose import compose_app
from quartermaster.jobs import labels
from quartermaster.jobs.errors import JobNotFound
from quartermaster.swarm import claims
from quartermaster.swarm.docker_connection import DockerConnection
from quartermaster.swarm.engine import EngineClient
from quartermaster.swarm.removal import remove_job_service
from support.api import ApiClient
from support.fuzzing import fuzzed_server, live_schema
from support.lab import (
    DEPLOYMENT,
    LAB_FACTS,
    LAB_LOGS,
    LIVE_SERVER_LOGS,
    MANAGER_SOCKET,
    TEST_LABEL,
    UNNAMED_DEPLOYMENT,
    Lab,
    LiveServer,
    lab_config,
    lab_secrets,
    labelled,
    mark_a_new_test,
    remove_leftover_deployments,
)
from support.lab_scheduling import (  # noqa: F401 - the hooks of the lab tier's scheduling
    pytest_collection_modifyitems,
    pytest_xdist_make_scheduler,
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
    remove_leftover_deployments(client)
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
    next tests' /jobs, whose reapers import it). What a test made is what carries its mark
    (this_test_labels: the tests' helpers label every /run with it), and the jobs that appeared
    during it without any mark (what a test sends as it is: qm's commands, the seed's examples,
    the fuzzer's bodies). A job or record with another test's mark is never touched: tests
    running at the same time (another run on the lab) do not remove each other's jobs."""
    mark = mark_a_new_test(alone=request.node.get_closest_marker("alone") is not None)
    if not {"docker_client", "lab"} & set(request.fixturenames):
        yield
        return
    client = request.getfixturevalue("docker_client")
    engine = request.getfixturevalue("docker_engine")
    # The unnamed deployment's jobs too, for the tests that run it (and only they: a test in
    # another process leaves them alone).
    groups = {mark.args[0] for mark in request.node.iter_markers("xdist_group")}
    deployments = [DEPLOYMENT, *([""] if UNNAMED_DEPLOYMENT in groups else [])]
    unmarked_before = {service["ID"] for service in _unmarked_jobs(client, deployments)}
    yield
    created = client.api.services(filters={"label": f"{TEST_LABEL}={mark}"})
    created += [
        job for job in _unmarked_jobs(client, deployments) if job["ID"] not in unmarked_before
    ]
    records = _records_of(client, created, mark)
    # Every job and record the test made is searched for secrets before it goes (a log set
    # aside: its name and labels; its data is the job's own output, base64).
    jobs = [service for service in created if labels.JOB in service["Spec"].get("Labels", {})]
    leaks = [name for name, value in lab_secrets().items() if value in json.dumps([jobs, records])]
    for service in created:
        with contextlib.suppress(JobNotFound):
            remove_job_service(engine, service)
    for record in records:
        with contextlib.suppress(docker.errors.NotFound):
            client.api.remove_config(record["ID"])
    assert not leaks, f"secrets in a job's service, a callback record or a claim: {leaks}"


def _unmarked_jobs(client, deployments: list[str]) -> list[dict]:
    """The jobs of these deployments without a test's mark."""
    jobs = []
    for deployment in deployments:
        jobs += client.api.services(filters={"label": labels.job_filter(deployment)})
    return [job for job in jobs if TEST_LABEL not in job["Spec"].get("Labels", {})]


def _records_of(client, services: list[dict], mark: str) -> list[dict]:
    """The swarm configs of these jobs (callback records, logs set aside: quartermaster-callback-
    <id>, -log-<id>), the Idempotency-Key claims of their keys (-key-<hash>), and the configs
    carrying the test's mark (a claim a test holds itself)."""
    ids = {service["ID"] for service in services}
    keys = {service["Spec"].get("Labels", {}).get(labels.IDEMPOTENCY_KEY) for service in services}
    records = []
    for config in client.api.configs(filters={"name": "quartermaster-"}):
        config_labels = config["Spec"].get("Labels") or {}
        if (
            config["Spec"]["Name"].rpartition("-")[2] in ids
            or config_labels.get(claims.CLAIM_OF) in keys - {None}
            or config_labels.get(TEST_LABEL) == mark
        ):
            records.append(config)
    return records


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
def flask_client(app):
    return app.test_client()


@pytest.fixture
def api(flask_client):
    """The test client with the token sent as a Bearer header."""
    return ApiClient(flask_client, labelled=labelled)


@contextlib.contextmanager
def _live_servers(directory: Path) -> Iterator[Callable[..., LiveServer]]:
    """start(*flags, env=, ready_path=): a real server; all stopped at the end, then their logs
    checked."""
    servers: list[LiveServer] = []

    def start(*args: str, env: dict | None = None, ready_path: str = "/healthz") -> LiveServer:
        log_path = directory / f"quartermaster-{len(servers)}.log"
        servers.append(LiveServer(log_path, *args, env=env, ready_path=ready_path).start())
        return servers[-1]

    not_stopped = []
    try:
        yield start
    finally:
        for server in servers:  # all stopped before any check: a failed one leaves none running
            try:
                server.stop()
            except AssertionError as error:
                not_stopped.append(str(error))
    assert not not_stopped, not_stopped
    for server in servers:
        assert TOKEN not in server.log_text(), "the token leaked into the server's log"
        assert "Traceback" not in server.log_text(), server.log_text()


@pytest.fixture
def live_server_factory(docker_client, tmp_path):
    """Start real servers of the test's own, with extra flags and environment; stop them and
    check their logs after the test."""
    with _live_servers(tmp_path) as start:
        yield start


@pytest.fixture(scope="module")
def module_server_factory(docker_client, tmp_path_factory):
    """Start real servers the module's tests share (each start costs about 3 s): for tests that
    neither vary a server's settings nor stop it, and find their jobs by their own ids or
    labels; stopped, and their logs checked, after the module."""
    with _live_servers(tmp_path_factory.mktemp("servers")) as start:
        yield start


@pytest.fixture(scope="module")
def live_server(lab, module_server_factory) -> LiveServer:
    """The module's real server with the default settings (see module_server_factory)."""
    return module_server_factory()


@pytest.fixture
def qm_client(live_server):
    """Our Client (quartermaster.client) to the module's live server."""
    with Client(live_server.url, token=TOKEN) as made:
        yield made


@pytest.fixture(scope="module")
def fuzzing_server(tmp_path_factory, docker_client):
    """A live server for a fuzzing module's requests (support/fuzzing.py): one per module."""
    with fuzzed_server(tmp_path_factory.mktemp("fuzz")) as started:
        yield started


@pytest.fixture
def fuzzing_schema(request, fuzzing_server):
    """The live server's document, its cases generated from the fuzzing module's SEED."""
    return live_schema(fuzzing_server, request.module.SEED)


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
