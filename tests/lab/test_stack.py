"""deploy/stack.yml with deploy/stack-tls.yml on the lab: quartermaster (2 replicas, dnsrr) behind
nginx over TLS (a certificate the test makes; plain HTTP only redirects), its history in the stack's
PostgreSQL, token, database URL, certificate and key as swarm secrets. A rolling update while jobs
are queued loses no job and every answer stays JSON; jobs that finished before it read the same
after it, from either replica, their services removed or not; with PostgreSQL down the live API
works, and once it is back (a new task on the same volume) the history holds every job. One stack
serves the module's tests (each deploy costs about a minute); each test finds its own jobs by a
label of its own."""

import contextlib
import json
import secrets
import subprocess
import threading
import time
from typing import NamedTuple

import pytest
import requests

from support.lab import DEPLOYMENT, free_port, this_test_labels, wait_until
from support.settings import PROJECT_ROOT

STACK = "qmtest"
QUARTERMASTER_REPLICAS = 2  # deploy/stack.yml's
ROLLING, OUTAGE = {"test": "rolling-update"}, {"test": "outage"}  # each test's jobs
TOKEN = "stack-test-token-7f3a"  # the stack's own: it reads it from the swarm secret
HEADERS = {"Authorization": f"Bearer {TOKEN}"}
DB_PASSWORD = secrets.token_hex(16)
# The swarm secrets the stack file names, made as its header says.
SECRETS = {
    "quartermaster_token": TOKEN,
    "quartermaster_db_password": DB_PASSWORD,
    "quartermaster_database_url": (
        f"postgresql://quartermaster:{DB_PASSWORD}@postgres:5432/quartermaster"
    ),
}
TLS_SECRETS = ("quartermaster_tls_certificate", "quartermaster_tls_key")  # files: made per run
POSTGRES_LABEL = "quartermaster.postgres"  # the node that keeps the database's volume
VOLUME = f"{STACK}_postgres_data"
NETWORKS = (f"{STACK}_front", f"{STACK}_store")
IMAGES = {
    "QUARTERMASTER_IMAGE": "quartermaster:test",
    "NGINX_IMAGE": "qm/nginx:test",
    "POSTGRES_IMAGE": "qm/postgres:test",
}
# Run inside a quartermaster container: GET a path of that replica, the path and the headers read
# from stdin (the token on no command line); prints [status code, JSON document].
ASK_THIS_REPLICA = """
import json, sys, urllib.error, urllib.request
ask = json.load(sys.stdin)
request = urllib.request.Request("http://127.0.0.1:9090" + ask["path"], headers=ask["headers"])
try:
    response = urllib.request.urlopen(request, timeout=10)
except urllib.error.HTTPError as error:
    response = error
print(json.dumps([response.getcode(), json.load(response)]))
"""


def docker(*args, timeout=120, **kwargs):
    return subprocess.run(
        ["docker", *args], capture_output=True, text=True, timeout=timeout, check=False, **kwargs
    )


@pytest.fixture(scope="module")
def certificate(tmp_path_factory):
    """A self-signed certificate for 127.0.0.1 and its key, as PEM files: (certificate, key)."""
    directory = tmp_path_factory.mktemp("tls")
    certificate, key = directory / "certificate.pem", directory / "key.pem"
    made = subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
         "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
         "-keyout", str(key), "-out", str(certificate)],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    return certificate, key


class Stack(NamedTuple):
    https: str  # nginx's HTTPS URL
    http: str  # nginx's plain HTTP URL, which only redirects


@pytest.fixture
def stack(deployed_stack):
    return deployed_stack.https


@pytest.fixture(scope="module")
def deployed_stack(lab, docker_client, certificate):
    """The stack deployed from deploy/stack.yml and deploy/stack-tls.yml as their headers say (the
    test images, free ports), answering from its store; nginx's HTTPS URL, its certificate trusted
    by requests for the module. All it made goes afterwards, even when a test fails: services,
    networks, the database's volume, the secrets, the node's label."""
    for image in IMAGES.values():
        if docker("image", "inspect", image).returncode != 0:
            pytest.fail(f"the image {image} does not exist: run make image")
    manager = docker("node", "inspect", "self", "--format", "{{.ID}}").stdout.strip()
    remove_stack(manager)  # what a run that died left
    port, tls_port = free_port(), free_port()
    url = f"https://127.0.0.1:{tls_port}"
    try:
        for name, value in SECRETS.items():
            created = docker("secret", "create", name, "-", input=value)
            assert created.returncode == 0, created.stderr
        for name, path in zip(TLS_SECRETS, certificate, strict=True):
            created = docker("secret", "create", name, str(path))
            assert created.returncode == 0, created.stderr
        labelled = docker("node", "update", "--label-add", f"{POSTGRES_LABEL}=true", manager)
        assert labelled.returncode == 0, labelled.stderr
        env = {
            "PATH": "/usr/local/bin:/usr/bin:/bin", **IMAGES,
            "PUBLISHED_PORT": str(port), "PUBLISHED_TLS_PORT": str(tls_port),
            "DEPLOYMENT": DEPLOYMENT,
        }  # fmt: skip
        deployed = docker(
            "stack", "deploy", "--resolve-image", "never",
            "-c", "deploy/stack.yml", "-c", "deploy/stack-tls.yml", STACK,
            cwd=PROJECT_ROOT, env=env,
        )  # fmt: skip
        assert deployed.returncode == 0, deployed.stderr
        with pytest.MonkeyPatch.context() as patch:
            patch.setenv("REQUESTS_CA_BUNDLE", str(certificate[0]))
            # /jobs reads the store: 503 until PostgreSQL is up and migrated.
            wait_until(lambda: get(f"{url}/jobs", headers=HEADERS).status_code == 200, 120,
                       "the stack never answered from its store")  # fmt: skip
            # Through nginx, one replica may answer while the other still waits for its store.
            wait_until(every_replica_answers_from_its_store, 60,
                       "a replica never answered from its store")  # fmt: skip
            yield Stack(url, f"http://127.0.0.1:{port}")
    finally:
        remove_stack(manager)


def remove_stack(manager):
    """Remove the stack and all it leaves behind; each step is tried whatever the others did,
    and what stayed is reported at the end."""
    docker("stack", "rm", STACK)
    stayed = []
    for gone, what in [
        (lambda: not docker("service", "ls", "-q", "--filter", f"name={STACK}_").stdout,
         "the stack's services stayed"),
        (lambda: all(docker("network", "inspect", name).returncode != 0 for name in NETWORKS),
         "the stack's networks stayed"),
        # Swarm removes the tasks' containers after their services: then the volume is free.
        (lambda: docker("volume", "rm", VOLUME).returncode == 0
         or docker("volume", "inspect", VOLUME).returncode != 0,
         "the database's volume stayed"),
    ]:  # fmt: skip
        try:
            wait_until(gone, 60, what)
        except AssertionError as error:
            stayed.append(str(error))
    docker("secret", "rm", *SECRETS, *TLS_SECRETS)
    docker("node", "update", "--label-rm", POSTGRES_LABEL, manager)
    assert not stayed, stayed


def get(url, **kwargs):
    try:
        return requests.get(url, timeout=10, **kwargs)
    except requests.RequestException:
        return requests.Response()  # status_code None: not up yet


def containers_of(service):
    """The running containers of one of the stack's services (all on this manager)."""
    listed = docker(
        "ps", "-q", "--filter", f"label=com.docker.swarm.service.name={STACK}_{service}",
        "--filter", "status=running",
    )  # fmt: skip
    return listed.stdout.split()


def ask_each_replica(path):
    """What each quartermaster replica answers to GET `path`, asked on its own address:
    {container: [status code, document]}."""
    answers = {}
    for container in containers_of("quartermaster"):
        asked = docker(
            "exec", "-i", container, "python", "-c", ASK_THIS_REPLICA,
            input=json.dumps({"path": path, "headers": HEADERS}),
        )  # fmt: skip
        assert asked.returncode == 0, asked.stderr
        answers[container] = json.loads(asked.stdout)
    return answers


def every_replica_answers_from_its_store() -> bool:
    try:
        answers = ask_each_replica("/jobs")
    except AssertionError:  # a replica not listening yet
        return False
    return len(answers) == QUARTERMASTER_REPLICAS and all(
        code == 200 for code, _ in answers.values()
    )


def final_record_written(job_id):
    """The reaper wrote the job's final record (its last status and its log) in the stack's
    database: read there, as the superuser on the server's own socket."""
    (postgres,) = containers_of("postgres")
    read = docker(
        "exec", "-i", "-u", "postgres", postgres, "psql", "-X", "-At", "-v", "ON_ERROR_STOP=1",
        "-v", f"id={job_id}", "-d", "quartermaster",
        input="SELECT log_captured_at IS NOT NULL FROM jobs WHERE id = :'id'",
    )  # fmt: skip
    assert read.returncode == 0, read.stderr
    return read.stdout.strip() == "t"


def assert_no_secret_in_the_stacks_logs():
    # Every container of the stack runs on this manager; `docker service logs` can hang on the
    # tasks an update replaced, so each container's log is read.
    containers = docker("ps", "-aq", "--filter", f"label=com.docker.stack.namespace={STACK}")
    assert containers.stdout.split(), containers.stderr
    for container in containers.stdout.split():
        logs = docker("logs", container)
        for name, value in [("the token", TOKEN), ("the database's password", DB_PASSWORD)]:
            assert value not in logs.stdout + logs.stderr, f"{name} is in {container}'s log"


def rolling_update_of_quartermaster():
    updated = docker(
        "service", "update", "--force", "--detach=false", f"{STACK}_quartermaster", timeout=240
    )
    assert updated.returncode == 0, updated.stderr


def scale_postgres(replicas):
    scaled = docker("service", "scale", "--detach=false", f"{STACK}_postgres={replicas}")
    assert scaled.returncode == 0, scaled.stderr


def run_echo(url, image, text, labels):
    job = {"image": image, "command": f"echo {text}", "labels": labels}
    return requests.post(f"{url}/run", json=job, headers=HEADERS, timeout=10).json()["id"]


def listed_ids(url, labels):
    """The ids /jobs lists with these labels (each test's own: the module shares one stack)."""
    ((key, value),) = labels.items()
    params = {"label": f"{key}={value}"}
    listed = requests.get(f"{url}/jobs", params=params, headers=HEADERS, timeout=10)
    assert listed.status_code == 200, listed.text
    return sorted(job["id"] for job in listed.json()["jobs"])


def status_of(url, job_id):
    return get(f"{url}/status/{job_id}", headers=HEADERS).json().get("status")


def test_the_stack_answers_over_tls_only(lab, deployed_stack, certificate):
    hsts = "max-age=63072000"
    health = requests.get(f"{deployed_stack.https}/healthz", timeout=10)
    assert (health.status_code, health.headers["Strict-Transport-Security"]) == (200, hsts)
    # nginx's own answers carry it too.
    too_large = requests.post(f"{deployed_stack.https}/run", data=b"x" * (2 * 2**20),
                              headers=HEADERS, timeout=10)  # fmt: skip
    assert too_large.status_code == 413
    assert too_large.headers["Strict-Transport-Security"] == hsts
    # The certificate is the one made for the stack: a client that does not trust it stops.
    with pytest.raises(requests.exceptions.SSLError):
        requests.get(f"{deployed_stack.https}/healthz", timeout=10, verify=requests.certs.where())
    # Plain HTTP only says where to go, as JSON, and proxies nothing: the job is not run.
    job = {"image": lab.image, "command": "echo never", "labels": {"test": "plain-http"}}
    for method, path, body in [
        ("GET", f"/status/abc?token={TOKEN}", None),
        ("POST", "/run", job),
    ]:
        answer = requests.request(method, f"{deployed_stack.http}{path}", json=body,
                                  headers=HEADERS, timeout=10, allow_redirects=False)  # fmt: skip
        assert answer.status_code == 308, answer.text
        assert answer.headers["Location"] == f"https://127.0.0.1{path}"
        assert answer.json()["code"] == 308
        assert "unencrypted" in answer.json()["error"]
    assert listed_ids(deployed_stack.https, {"test": "plain-http"}) == []
    assert_no_secret_in_the_stacks_logs()


@contextlib.contextmanager
def labelled_worker(docker_client, key: str, value: str):
    """A lab worker carrying the node label key=value until the block ends (lab-worker-2:
    test_placement_predictions labels lab-worker-1, maybe meanwhile)."""
    [node] = [n for n in docker_client.nodes.list() if n.attrs["Description"]["Hostname"]
              == "lab-worker-2"]  # fmt: skip
    labels = dict(node.attrs["Spec"].get("Labels") or {})
    node.update({**node.attrs["Spec"], "Labels": {**labels, key: value}})
    try:
        yield
    finally:
        node.reload()
        node.update({**node.attrs["Spec"], "Labels": labels})


def test_a_rolling_update_with_jobs_queued_loses_nothing(lab, docker_client, stack):
    # Queued: no node carries their label until the update is over (the other tests' jobs run
    # meanwhile: the workers' memory is not filled to queue them).
    mark = this_test_labels()["qm-test"]
    constraint = f"node.labels.qm-rolling=={mark}"
    job = {"image": lab.image, "command": "sleep 2", "constraints": [constraint], "labels": ROLLING}
    job_ids = [
        requests.post(f"{stack}/run", json=job, headers=HEADERS, timeout=10).json()["id"]
        for _ in range(lab.workers + 1)
    ]
    answers, done = [], threading.Event()

    def keep_asking():
        while not done.is_set():
            # The token in the query too: nginx must not log it when the upstream is switching.
            for path in [f"/status/{job_ids[-1]}", f"/jobs?token={TOKEN}", "/healthz"]:
                try:
                    response = requests.get(f"{stack}{path}", headers=HEADERS, timeout=10)
                except requests.RequestException as error:
                    answers.append((path, None, repr(error)))
                    continue
                answers.append((path, response.status_code, response.headers.get("Content-Type")))
            time.sleep(0.1)

    asker = threading.Thread(target=keep_asking)
    asker.start()
    try:
        rolling_update_of_quartermaster()
    finally:
        done.set()
        asker.join()
    assert len(answers) > 20
    assert all(content == "application/json" for _, _, content in answers), [
        a for a in answers if a[2] != "application/json"
    ][:5]
    assert {code for _, code, _ in answers} <= {200, 503}
    assert_no_secret_in_the_stacks_logs()

    # Every job is still there, none twice, and all of them finish once a node takes them.
    def all_complete():
        statuses = [
            get(f"{stack}/status/{job_id}", headers=HEADERS).json().get("status")
            for job_id in job_ids
        ]
        return statuses == ["complete"] * len(job_ids)

    assert all(
        get(f"{stack}/status/{job_id}", headers=HEADERS).json().get("status") == "pending"
        for job_id in job_ids
    )
    with labelled_worker(docker_client, "qm-rolling", mark):
        wait_until(all_complete, 120, "not every queued job completed")
    assert listed_ids(stack, ROLLING) == sorted(job_ids)


def differences(answer: list, document: dict) -> dict:
    """What in [code, document] is not [200, `document`], but for a started_at `document` lacks."""
    code, got = answer
    if document["started_at"] is None:
        got = {**got, "started_at": None}
    keys = sorted(set(got) | set(document))
    changed = {
        key: (got.get(key), document.get(key)) for key in keys if got.get(key) != document.get(key)
    }
    return {"code": code, **changed} if code != 200 else changed


def test_a_rolling_update_keeps_the_history(lab, stack):
    job = {"image": lab.image, "command": "echo kept-through-the-update"}
    job_ids = [
        requests.post(f"{stack}/run", json=job, headers=HEADERS, timeout=10).json()["id"]
        for _ in range(2)
    ]

    def statuses():
        return [get(f"{stack}/status/{job_id}", headers=HEADERS).json() for job_id in job_ids]

    wait_until(lambda: {s.get("status") for s in statuses()} == {"complete"}, 60,
               "the jobs did not complete")  # fmt: skip
    wait_until(lambda: all(final_record_written(job_id) for job_id in job_ids), 30,
               "the reaper wrote no final record in the stack's database")  # fmt: skip
    # One job's service goes now, as it would KEEP_FINISHED seconds later: it is read from its
    # record only. The other's may go during the update, or not: it reads the same either way.
    archived = job_ids[0]
    removed = docker("service", "rm", archived)
    assert removed.returncode == 0, removed.stderr
    wait_until(lambda: docker("service", "inspect", archived).returncode != 0, 30,
               "the job's service stayed")  # fmt: skip
    before = statuses()
    assert [s["status"] for s in before] == ["complete", "complete"], before

    rolling_update_of_quartermaster()

    replicas = containers_of("quartermaster")
    assert len(replicas) == 2, replicas
    for job_id, document in zip(job_ids, before, strict=True):
        # Each replica, on its own address, and nginx, asked a few times, answer as before. But
        # started_at: swarm keeps no start time of an ended run, so the job whose service was
        # still there before says none, and its record (once its service goes during the
        # update) the start the reaper saw, if it saw the run at all.
        by_replica = ask_each_replica(f"/status/{job_id}")
        assert sorted(by_replica) == sorted(replicas)
        assert {
            replica: differences(answer, document) for replica, answer in by_replica.items()
        } == {replica: {} for replica in by_replica}
        for _ in range(4):
            response = requests.get(f"{stack}/status/{job_id}", headers=HEADERS, timeout=10)
            assert differences([response.status_code, response.json()], document) == {}
    for _ in range(4):
        logs = requests.get(f"{stack}/logs/{archived}", headers=HEADERS, timeout=10)
        assert logs.status_code == 200, logs.text
        assert "kept-through-the-update" in logs.text
    assert_no_secret_in_the_stacks_logs()


def test_quartermaster_works_while_its_database_is_down_and_the_history_outlives_it(lab, stack):
    before = run_echo(stack, lab.image, "before-the-outage", OUTAGE)
    wait_until(lambda: final_record_written(before), 60, "no final record before the outage")
    scale_postgres(0)
    # The live API works on the swarm alone; what only the store knows answers a JSON 503.
    during = run_echo(stack, lab.image, "during-the-outage", OUTAGE)
    wait_until(lambda: status_of(stack, during) == "complete", 60, "the job did not complete")
    jobs = get(f"{stack}/jobs", headers=HEADERS)
    assert (jobs.status_code, jobs.headers["Content-Type"]) == (503, "application/json")
    # PostgreSQL back (a new task, a new address, the same volume): the job run meanwhile gets
    # its record, and the one from before the outage is still there.
    scale_postgres(1)
    wait_until(lambda: final_record_written(during), 60, "no record of the job run meanwhile")
    assert listed_ids(stack, OUTAGE) == sorted([before, during])
    assert [status_of(stack, job_id) for job_id in (before, during)] == ["complete"] * 2
