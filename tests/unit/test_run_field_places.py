"""A /run field is written in several places, each for its own side: `JobSpec` (jobs/spec.py),
`RunRequest` (which loads a body into it; test_schemas.py holds the two equal), the record
(jobs/history.py's `recorded_request`, and swarm/spec.py's `request_of` for a job the store never
saw made), /history's `RecordedRequestDocument` (derived from `JobSpec`), the client's
`Client.run`, `qm run` and the dashboard's Run form (run.js). What can be derived is; these tests
fail when the rest drift: each side is given every field and must pass every one on."""

import base64
import dataclasses
import inspect
import json
import re

import click
import pytest
from click.testing import CliRunner

from quartermaster.cli.all_commands import qm
from quartermaster.client import Client
from quartermaster.jobs.history import NOT_RECORDED, recorded_request
from quartermaster.jobs.idempotency import KeyHashes
from quartermaster.jobs.spec import JobSpec
from quartermaster.swarm.spec import request_of, service_spec
from quartermaster.web.schemas import RunRequest
from quartermaster.web.schemas.requests import TokenRequest
from quartermaster.web.schemas.responses import RecordedRequestDocument
from quartermaster.web.ui.pages import FILES
from support.scripted_server import json_answer

# A job with every field of JobSpec set, none to its default.
EVERY_FIELD = JobSpec(
    image="registry.lab:5000/team/report:1",
    command=("sh", "-c", "echo hi"),
    name="nightly-report",
    labels={"team": "a"},
    env={"MODE": "fast"},
    memory_mb=300,
    cpus=0.5,
    constraints=("node.labels.zone==a",),
    type="job",
    completions=4,
    parallelism=2,
    retries=2,
    timeout=600,
    ttl=3600,
    callback_url="http://10.77.0.9:8080/done",
    idempotency_key="key-1",
    registry_auth={"username": "u", "password": "p"},
)
AUTH = base64.b64encode(json.dumps(EVERY_FIELD.registry_auth).encode()).decode()
# The body's names of JobSpec's fields where they differ (data_key): {"memory_mb": "memory", ...}.
RUN_NAMES = {name: field.data_key for name, field in RunRequest().fields.items() if field.data_key}


def body_names() -> set[str]:
    """The names a /run body may give (the token aside)."""
    fields = set(RunRequest().fields) - set(TokenRequest().fields)
    return {RUN_NAMES.get(name, name) for name in fields}


def loaded(body: dict, idempotency_key: str | None) -> JobSpec:
    """The JobSpec the server makes of a /run body and its Idempotency-Key header."""
    job = RunRequest(callback_allow_private=True).load(body)
    return dataclasses.replace(job, idempotency_key=idempotency_key)


@pytest.fixture
def run_answered(scripted_server):
    """The scripted server (tests/unit/conftest.py), answering /run with a job's id."""
    scripted_server.answer("POST", "/run", json_answer(200, {"success": True, "id": "a" * 25}))
    return scripted_server


def test_the_example_job_sets_every_field():
    """What makes the tests below see a field that a side forgets."""
    defaults = JobSpec(image="")
    assert [
        field.name
        for field in dataclasses.fields(JobSpec)
        if getattr(EVERY_FIELD, field.name) == getattr(defaults, field.name)
    ] == ["payload", "tenant", "run_by", "template", "scheduled_for"]
    # The tenant and who ran it are the key's, never a request's (test_tenant_jobs.py); a
    # payload, a template and a tick are a dispatch's (test_templates.py).


def test_history_answers_every_field_a_record_keeps_under_the_name_run_takes_it_by():
    request = recorded_request(EVERY_FIELD, env_values=True)
    answered = RecordedRequestDocument().dump(request)
    assert answered == {RUN_NAMES.get(name, name): value for name, value in request.items()}
    assert set(request) == {field.name for field in dataclasses.fields(JobSpec)} - set(NOT_RECORDED)
    assert set(answered) == body_names() - {"auth"}  # the credentials are never recorded


def test_a_job_the_store_never_saw_is_recorded_from_its_service_with_every_field():
    """request_of reads back from the service what service_spec wrote of each field."""
    spec = service_spec(EVERY_FIELD, KeyHashes.of(EVERY_FIELD))  # as given: nothing defaulted
    assert request_of({"Spec": spec}) == recorded_request(EVERY_FIELD, env_values=False)


# Client.run's arguments: EVERY_FIELD's fields by /run's names (the key goes in a header).
CLIENT_ARGUMENTS = {
    "image": EVERY_FIELD.image,
    "command": ["sh", "-c", "echo hi"],
    "name": "nightly-report",
    "memory": 300,
    "cpus": 0.5,
    "env": {"MODE": "fast"},
    "labels": {"team": "a"},
    "constraints": ["node.labels.zone==a"],
    "type": "job",
    "completions": 4,
    "parallelism": 2,
    "retries": 2,
    "timeout": 600,
    "ttl": 3600,
    "callback_url": EVERY_FIELD.callback_url,
    "auth": AUTH,
    "idempotency_key": "key-1",
}


def test_client_run_takes_every_field_and_sends_each(run_answered):
    parameters = set(inspect.signature(Client.run).parameters) - {"self"}
    assert parameters == set(CLIENT_ARGUMENTS)
    with Client(run_answered.url, token="unit-test-token", timeout=5) as to_it:
        to_it.run(**CLIENT_ARGUMENTS)
    [request] = run_answered.received
    assert loaded(request.json(), request.headers["Idempotency-Key"]) == EVERY_FIELD


# `qm run`'s options that make no field of the request.
QM_RUN_ONLY = {"detach", "stop_on_signal", "raw", "as_json"}


def qm_run_options(auth_file: str) -> dict[str, list[str]]:
    """Each option of `qm run` that makes a field, given EVERY_FIELD's value. There is no --type:
    --completions or --parallelism make a replicated job. Nor an Idempotency-Key: the client
    makes a fresh one for each run."""
    return {
        "name": ["--name", "nightly-report"],
        "memory": ["--memory", "300"],
        "cpus": ["--cpus", "0.5"],
        "env": ["-e", "MODE=fast"],
        "labels": ["-l", "team=a"],
        "constraints": ["--constraint", "node.labels.zone==a"],
        "timeout": ["--timeout", "600"],
        "retries": ["--retries", "2"],
        "ttl": ["--ttl", "3600"],
        "completions": ["--completions", "4"],
        "parallelism": ["--parallelism", "2"],
        "callback_url": ["--callback-url", EVERY_FIELD.callback_url or ""],
        "registry_auth_file": ["--registry-auth-file", auth_file],
    }


def test_qm_run_has_an_option_for_every_field_and_sends_each(run_answered, tmp_path):
    auth_file = tmp_path / "auth.json"
    auth_file.write_text(json.dumps(EVERY_FIELD.registry_auth))
    options = qm_run_options(str(auth_file))
    given_by_options = {
        param.name for param in qm.commands["run"].params if isinstance(param, click.Option)
    }
    assert given_by_options - QM_RUN_ONLY == set(options)
    argv = ["run", "-d", *(word for words in options.values() for word in words)]
    argv += [EVERY_FIELD.image, *(EVERY_FIELD.command or ())]
    env = {"QM_URL": run_answered.url, "QM_TOKEN": "unit-test-token", "QM_TOKEN_FILE": ""}
    result = CliRunner().invoke(qm, argv, env=env, prog_name="qm")
    assert result.exit_code == 0, result.output
    [request] = run_answered.received
    key = request.headers["Idempotency-Key"]
    assert key and loaded(request.json(), key) == dataclasses.replace(
        EVERY_FIELD, idempotency_key=key
    )


# /run's fields the dashboard's Run form leaves to the API, the client and qm: it keeps to what
# a first run needs.
NOT_IN_THE_RUN_FORM = {
    "constraints", "type", "completions", "parallelism", "retries", "ttl", "callback_url", "auth",
}  # fmt: skip
RUN_JS = (FILES / "run.js").read_text()


def run_form_inputs() -> set[str]:
    """The names of the Run form's inputs (`inputs = { image: h("input", { name: "image"...`)."""
    block = RUN_JS[
        RUN_JS.index("const inputs = {") : RUN_JS.index("};", RUN_JS.index("const inputs"))
    ]
    return set(re.findall(r'\bname: "(\w+)"', block))


def run_form_body_names() -> set[str]:
    """The names requestBody puts in the body: the one it starts with, each `body.x =`, and
    those of the lists it hands to forms.js to add (`addNumbers(body, inputs, [...])`)."""
    function = RUN_JS[RUN_JS.index("function requestBody") :]
    function = function[: function.index("\n}\n")]
    names = set(re.findall(r"const body = \{ (\w+):", function))
    names |= set(re.findall(r"\bbody\.(\w+) =", function))
    for listed in re.findall(r"add\w+\(body, inputs, \[([^\]]*)\]\)", function):
        names |= set(re.findall(r'"(\w+)"', listed))
    return names


def test_the_run_form_sends_each_input_by_a_name_run_takes():
    assert run_form_inputs() == run_form_body_names()
    assert run_form_inputs() <= body_names()


def test_the_run_form_leaves_out_only_the_fields_listed():
    assert body_names() - run_form_inputs() == NOT_IN_THE_RUN_FORM
