"""Templates (jobs/templates.py) over HTTP, on the in-memory runtime: made, read, changed and
removed by their owner alone; dispatched with parameters (QM_META_<NAME>) and overrides, under
the `dispatch` right, as /run would run the job; registry credentials sealed, never shown."""

import base64
import json
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

from quartermaster.compose import compose_app
from quartermaster.jobs.errors import InvalidInput
from quartermaster.jobs.spec import JobSpec
from quartermaster.jobs.templates import (
    OVERRIDES,
    Dispatch,
    Template,
    TemplateParameters,
    dispatched_job,
)
from quartermaster.process.sealing import Sealer
from quartermaster.store import RecordStore
from quartermaster.web.schemas.templates import OverridesRequest
from support.api import ApiClient, assert_error
from support.settings import BEARER, make_config
from support.tenants import bearer, make_key, make_tenant

NIGHTLY = {
    "name": "nightly",
    "image": "qm/busybox:latest",
    "command": ["echo", "report"],
    "memory": 64,
    "env": {"MODE": "full"},
    "parameters": {"required": ["DATE"], "optional": ["REGION"]},
}
AUTH = {"username": "qmuser", "password": "a-registry-password"}
ENCODED_AUTH = base64.b64encode(json.dumps(AUTH).encode()).decode()
SECRET_KEY = "a-secret-key-for-the-tests"


@pytest.fixture
def sealing_app(runtime):
    config = make_config(secret_key=SECRET_KEY)
    store = RecordStore(config.store_url)
    store.live()
    yield compose_app(config, runtime, store), store
    store.close()


def make(client, body: dict = NIGHTLY, headers: dict = BEARER) -> dict:
    answer = client.post("/templates", json=body, headers=headers)
    assert answer.status_code == 201, answer.get_json()
    return answer.get_json()


def dispatch(client, name: str = "nightly", headers: dict = BEARER, **body):
    return client.post(f"/templates/{name}/dispatch", json=body, headers=headers)


def test_a_template_is_made_read_changed_and_removed(flask_client):
    made = make(flask_client)
    assert (made["name"], made["tenant"], made["auth_kept"]) == ("nightly", None, False)
    assert made["request"]["image"] == "qm/busybox:latest"
    assert made["request"]["env"] == {"MODE": None}  # values only with KEEP_ENV_VALUES
    assert made["parameters"] == {"required": ["DATE"], "optional": ["REGION"]}
    listed = flask_client.get("/templates", headers=BEARER).get_json()["templates"]
    assert [template["name"] for template in listed] == ["nightly"]
    assert_error(flask_client.post("/templates", json=NIGHTLY, headers=BEARER), 409)
    changed = flask_client.patch(
        "/templates/nightly", json={"memory": 128, "parameters": None}, headers=BEARER
    )
    assert changed.status_code == 200, changed.get_json()
    document = changed.get_json()
    assert (document["request"]["memory"], document["request"]["command"]) == (
        128, ["echo", "report"]
    )  # fmt: skip
    assert document["parameters"] == {"required": [], "optional": []}
    assert flask_client.delete("/templates/nightly", headers=BEARER).status_code == 200
    assert_error(flask_client.get("/templates/nightly", headers=BEARER), 404)
    assert_error(flask_client.delete("/templates/nightly", headers=BEARER), 404)


def test_a_templates_body_is_checked_as_runs_and_names_what_is_wrong(flask_client):
    for bad, field in (
        ({**NIGHTLY, "name": "Nightly Report"}, "name"),
        ({**NIGHTLY, "memory": 0}, "memory"),
        ({**NIGHTLY, "completions": 3}, "completions"),
        ({**NIGHTLY, "parameters": {"required": ["2DAY"]}}, "parameters"),
        ({**NIGHTLY, "colour": "red"}, "colour"),
    ):
        answer = flask_client.post("/templates", json=bad, headers=BEARER)
        assert field in assert_error(answer, 400)["fields"], bad
    make(flask_client)
    answer = flask_client.patch("/templates/nightly", json={"cpus": -1}, headers=BEARER)
    assert "cpus" in assert_error(answer, 400)["fields"]
    renamed = flask_client.patch("/templates/nightly", json={"name": "daily"}, headers=BEARER)
    assert "name" in assert_error(renamed, 400)["fields"]


def test_a_parameter_named_twice_counts_once_and_required_wins(flask_client):
    twice = {"required": ["A", "A", "B"], "optional": ["B", "C", "C"]}
    made = make(flask_client, body={**NIGHTLY, "parameters": twice})
    assert made["parameters"] == {"required": ["A", "B"], "optional": ["C"]}


def test_a_change_of_type_takes_the_jobs_fields_with_it(flask_client):
    make(flask_client, body={**NIGHTLY, "type": "job", "completions": 4, "parallelism": 2})
    alone = flask_client.patch("/templates/nightly", json={"completions": 6}, headers=BEARER)
    assert "completions" in assert_error(alone, 400)["fields"]  # with its type, as at /run
    six = {"type": "job", "completions": 6}
    completions = flask_client.patch("/templates/nightly", json=six, headers=BEARER)
    assert completions.get_json()["request"]["completions"] == 6
    service = flask_client.patch("/templates/nightly", json={"type": "service"}, headers=BEARER)
    assert service.status_code == 200, service.get_json()
    assert service.get_json()["request"]["type"] == "service"


def test_a_dispatch_may_override_what_jobs_templates_declare_and_no_more():
    assert set(OverridesRequest().fields) == set(OVERRIDES)


def test_a_dispatch_runs_the_template_with_its_parameters_as_env(flask_client, runtime):
    make(flask_client)
    answer = dispatch(flask_client, meta={"DATE": "2026-12-01"}, overrides={"memory": 96})
    assert answer.status_code == 200, answer.get_json()
    job_id = answer.get_json()["id"]
    spec = runtime.service(job_id)["Spec"]["TaskTemplate"]
    env = spec["ContainerSpec"]["Env"]
    assert "QM_META_DATE=2026-12-01" in env and "MODE=full" in env
    assert spec["Resources"]["Limits"]["MemoryBytes"] == 96 * 1024 * 1024
    status = ApiClient(flask_client).status(job_id).get_json()
    assert status["image"] == "qm/busybox:latest"
    # Two dispatches: two jobs, each a name of its own.
    again = dispatch(flask_client, meta={"DATE": "2026-12-02", "REGION": "eu"}).get_json()["id"]
    assert again != job_id


def test_a_dispatch_names_missing_and_unknown_parameters(flask_client):
    make(flask_client)
    missing = assert_error(dispatch(flask_client, meta={"REGION": "eu"}), 400)
    assert "DATE" in missing["fields"]["meta"][0]
    unknown = assert_error(dispatch(flask_client, meta={"DATE": "x", "COLOUR": "red"}), 400)
    assert "COLOUR" in unknown["fields"]["meta"][0]
    not_a_job = assert_error(
        dispatch(flask_client, meta={"DATE": "x"}, overrides={"completions": 2}), 400
    )
    assert "overrides" in not_a_job["fields"]
    bad = assert_error(dispatch(flask_client, meta={"DATE": "x"}, overrides={"image": "x"}), 400)
    assert "overrides" in bad["fields"]
    assert_error(dispatch(flask_client, name="nosuch", meta={}), 404)


def test_a_dispatch_with_an_idempotency_key_is_one_job(flask_client):
    make(flask_client)
    headers = {**BEARER, "Idempotency-Key": "nightly-2026-12-01"}
    first = dispatch(flask_client, headers=headers, meta={"DATE": "2026-12-01"}).get_json()["id"]
    second = dispatch(flask_client, headers=headers, meta={"DATE": "2026-12-01"}).get_json()["id"]
    assert first == second
    other = dispatch(flask_client, headers=headers, meta={"DATE": "2026-12-02"})
    assert_error(other, 409)


def test_a_template_is_its_owners_alone(flask_client):
    make_tenant(flask_client, "team-a")
    make_tenant(flask_client, "team-b")
    rights = ["read", "templates", "dispatch"]
    a = bearer(make_key(flask_client, "team-a", "ci", rights)["key"])
    b = bearer(make_key(flask_client, "team-b", "ci", rights)["key"])
    mine = make(flask_client, headers=a)
    assert mine["tenant"] == "team-a"
    # The same name is another owner's template: the operator's, and team-b's.
    make(flask_client)
    assert_error(flask_client.get("/templates/nightly", headers=b), 404)
    assert flask_client.get("/templates", headers=b).get_json()["templates"] == []
    assert_error(flask_client.patch("/templates/nightly", json={}, headers=b), 404)
    assert_error(flask_client.delete("/templates/nightly", headers=b), 404)
    assert_error(dispatch(flask_client, headers=b, meta={"DATE": "x"}), 404)
    job_id = dispatch(flask_client, headers=a, meta={"DATE": "x"}).get_json()["id"]
    assert ApiClient(flask_client).status(job_id).get_json()["tenant"] == "team-a"


def test_a_dispatched_job_names_its_template_and_jobs_filter_by_it(flask_client):
    make(flask_client)
    make(flask_client, body={**NIGHTLY, "name": "weekly"})
    api = ApiClient(flask_client)
    nightly = [dispatch(flask_client, meta={"DATE": "x"}).get_json()["id"] for _ in range(2)]
    weekly = dispatch(flask_client, name="weekly", meta={"DATE": "x"}).get_json()["id"]
    ran = api.run_ok(image="qm/busybox:latest", command="true")
    status = api.status(nightly[0]).get_json()
    assert (status["template"], status["scheduled_for"]) == ("nightly", None)
    assert api.status(ran).get_json()["template"] is None
    listed = api.get_ok("/jobs?template=nightly")["jobs"]
    assert [job["id"] for job in listed] == nightly[::-1]
    assert {job["template"] for job in listed} == {"nightly"}
    assert [job["id"] for job in api.get_ok("/jobs?template=weekly")["jobs"]] == [weekly]
    assert api.get_ok("/jobs?template=none")["jobs"] == []
    assert (
        "template"
        in assert_error(flask_client.get("/jobs?template=a b", headers=BEARER), 400)["fields"]
    )
    # A tenant's template of the same name: its jobs are its own, the operator's are not its.
    make_tenant(flask_client, "team-t", images=["qm/*"])
    key = bearer(make_key(flask_client, "team-t", "k", ["templates", "dispatch", "read"])["key"])
    make(flask_client, headers=key)
    theirs = dispatch(flask_client, headers=key, meta={"DATE": "x"}).get_json()["id"]
    seen = flask_client.get("/jobs?template=nightly", headers=key).get_json()["jobs"]
    assert [job["id"] for job in seen] == [theirs]


def test_dispatch_is_a_right_of_its_own_and_templates_another(flask_client):
    make_tenant(flask_client, "team-d", images=["qm/*"])
    dispatcher = bearer(make_key(flask_client, "team-d", "cron", ["dispatch"])["key"])
    author = bearer(make_key(flask_client, "team-d", "dev", ["templates", "read"])["key"])
    make(flask_client, headers=author)
    assert dispatch(flask_client, headers=dispatcher, meta={"DATE": "x"}).status_code == 200
    # Dispatch alone: no /run of any other image, no templates made.
    run = flask_client.post("/run", json={"image": "qm/busybox:latest"}, headers=dispatcher)
    assert_error(run, 403)
    assert_error(flask_client.post("/templates", json=NIGHTLY, headers=dispatcher), 403)
    assert_error(dispatch(flask_client, headers=author, meta={"DATE": "x"}), 403)
    # The tenant's policy holds at each dispatch, as at /run.
    elsewhere = {**NIGHTLY, "name": "elsewhere", "image": "other/image:1"}
    make(flask_client, body=elsewhere, headers=author)
    refused = dispatch(flask_client, name="elsewhere", headers=dispatcher, meta={"DATE": "x"})
    assert "image" in assert_error(refused, 403)["fields"]


def test_registry_credentials_need_secret_key(flask_client):
    answer = flask_client.post("/templates", json={**NIGHTLY, "auth": ENCODED_AUTH}, headers=BEARER)
    assert "auth" in assert_error(answer, 400)["fields"]


def test_registry_credentials_are_sealed_kept_and_never_shown(sealing_app, runtime):
    app, store = sealing_app
    client = app.test_client()
    made = make(client, body={**NIGHTLY, "auth": ENCODED_AUTH})
    assert made["auth_kept"] is True
    assert AUTH["password"] not in str(made) and ENCODED_AUTH not in str(made)
    with store.connection.reading() as connection:
        rows = connection.execute(sa.text("SELECT * FROM templates")).all()
    assert AUTH["password"] not in str(rows) and ENCODED_AUTH not in str(rows)
    # A change that does not give auth keeps it; the dispatch forwards it.
    changed = client.patch("/templates/nightly", json={"memory": 80}, headers=BEARER)
    assert changed.get_json()["auth_kept"] is True
    job_id = dispatch(client, meta={"DATE": "x"}).get_json()["id"]
    assert runtime.registry_auths[job_id] == AUTH
    # auth null: none kept.
    dropped = client.patch("/templates/nightly", json={"auth": None}, headers=BEARER)
    assert dropped.get_json()["auth_kept"] is False


def test_what_is_sealed_under_one_key_opens_under_it_alone():
    sealed = Sealer("one key").seal(AUTH)
    assert Sealer("one key").open(sealed) == AUTH
    with pytest.raises(InvalidInput):
        Sealer("another key").open(sealed)
    with pytest.raises(InvalidInput):
        Sealer(None).seal(AUTH)


# A worker composed with SECRET_KEY, then what it imported before and after a first seal.
SEALS_IN_A_COMPOSED_WORKER = """
import sys
from quartermaster.compose import compose_app
from support.settings import make_config
compose_app(make_config(secret_key="a key"))
print("cryptography" in sys.modules)
from quartermaster.process.sealing import Sealer
Sealer("a key").open(Sealer("a key").seal({"username": "u", "password": "p"}))
print("cryptography" in sys.modules)
"""


def test_cryptography_is_imported_by_a_first_seal_only():
    """7 MB a worker: most never keep or read credentials."""
    worker = subprocess.run(
        [sys.executable, "-c", SEALS_IN_A_COMPOSED_WORKER],
        capture_output=True, text=True, timeout=60, cwd=Path(__file__).parents[1],
    )  # fmt: skip
    assert worker.stdout.split() == ["False", "True"], worker.stderr


def test_a_dispatched_job_is_the_templates_with_the_overrides_laid_over():
    job = JobSpec("i", env={"A": "1"}, labels={"x": "1"}, memory_mb=64, type="job", completions=4)
    template = Template("t", job, TemplateParameters(("DAY",), ()))
    dispatched = dispatched_job(
        template, Dispatch({"DAY": "mon"}, {"env": {"B": "2"}, "labels": {"y": "2"},
                                             "completions": 2, "cpus": 0.5})
    )  # fmt: skip
    assert dispatched.env == {"A": "1", "B": "2", "QM_META_DAY": "mon"}
    assert dispatched.labels == {"x": "1", "y": "2"}
    assert (dispatched.completions, dispatched.cpus, dispatched.memory_mb) == (2, 0.5, 64)


def payload_of(runtime, job_id: str) -> bytes:
    [mounted] = runtime.service(job_id)["Spec"]["TaskTemplate"]["ContainerSpec"]["Configs"]
    assert mounted["File"]["Name"] == "/qm/payload"
    return runtime.payloads[mounted["ConfigID"]]


def test_a_payload_reaches_the_job_as_a_file_never_its_env_or_record(flask_client, runtime):
    make(flask_client, body={**NIGHTLY, "payload": "required"})
    data = b"\x00binary\xffpayload"
    encoded = base64.b64encode(data).decode()
    answer = dispatch(flask_client, meta={"DATE": "x"}, payload=encoded)
    assert answer.status_code == 200, answer.get_json()
    job_id = answer.get_json()["id"]
    assert payload_of(runtime, job_id) == data
    spec = runtime.service(job_id)["Spec"]
    assert encoded not in str(spec["Labels"]) + str(spec["TaskTemplate"]["ContainerSpec"]["Env"])
    history = flask_client.get(f"/history/{job_id}", headers=BEARER).get_json()
    assert "payload" not in history["request"] and encoded not in str(history)
    # A raw body is the payload itself, the parameters in the query.
    raw = flask_client.post(
        "/templates/nightly/dispatch?meta=DATE=2026-12-01&meta=REGION=eu",
        data=b"raw bytes", headers={**BEARER, "Content-Type": "application/octet-stream"},
    )  # fmt: skip
    assert raw.status_code == 200, raw.get_json()
    raw_id = raw.get_json()["id"]
    assert payload_of(runtime, raw_id) == b"raw bytes"
    env = runtime.service(raw_id)["Spec"]["TaskTemplate"]["ContainerSpec"]["Env"]
    assert "QM_META_DATE=2026-12-01" in env and "QM_META_REGION=eu" in env


def test_a_templates_payload_mode_is_kept_to(flask_client):
    make(flask_client)  # forbidden, by default
    refused = dispatch(flask_client, meta={"DATE": "x"}, payload=base64.b64encode(b"x").decode())
    assert "payload" in assert_error(refused, 400)["fields"]
    make(flask_client, body={**NIGHTLY, "name": "needs", "payload": "required"})
    missing = dispatch(flask_client, name="needs", meta={"DATE": "x"})
    assert "payload" in assert_error(missing, 400)["fields"]
    not_base64 = dispatch(flask_client, name="needs", meta={"DATE": "x"}, payload="%%%")
    assert "payload" in assert_error(not_base64, 400)["fields"]
    big = base64.b64encode(b"x" * (256 * 1024 + 1)).decode()
    too_big = dispatch(flask_client, name="needs", meta={"DATE": "x"}, payload=big)
    assert "payload" in assert_error(too_big, 400)["fields"]
    raw_too_big = flask_client.post(
        "/templates/needs/dispatch?meta=DATE=x", data=b"x" * (256 * 1024 + 1),
        headers={**BEARER, "Content-Type": "application/octet-stream"},
    )  # fmt: skip
    assert_error(raw_too_big, 413)
    bad_pair = flask_client.post(
        "/templates/needs/dispatch?meta=DATE", data=b"x",
        headers={**BEARER, "Content-Type": "text/plain"},
    )  # fmt: skip
    assert "meta" in assert_error(bad_pair, 400)["fields"]
    shown = flask_client.get("/templates/needs", headers=BEARER).get_json()
    assert shown["payload"] == "required"
    assert (
        "payload"
        in assert_error(
            flask_client.patch("/templates/needs", json={"payload": "sometimes"}, headers=BEARER),
            400,
        )["fields"]
    )
