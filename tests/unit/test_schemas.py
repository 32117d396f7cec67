"""Request parsing and validation: pure logic, no Docker."""

import base64
import dataclasses
import json
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from marshmallow import ValidationError

from quartermaster.jobs.query import CURSOR_PATTERN, decode_cursor, encode_cursor
from quartermaster.jobs.spec import JobSpec
from quartermaster.web.schemas import JobsQuery, LogsQuery, RunRequest, StatusQuery, StopRequest
from quartermaster.web.schemas.fields import Command, decode_registry_auth
from quartermaster.web.schemas.patterns import COMMAND_PATTERN
from quartermaster.web.schemas.requests import TokenRequest

SEED_AUTH = (
    "eyJ1c2VybmFtZSI6InVzZXIiLCAicGFzc3dvcmQiOiJwYXNzd29yZCIsICJhdXRoIjoiIiwgImVtYWlsIjoibmFtZUBl"
    "eGFtcGxlLmNvbSJ9"
)


def load_run(**body) -> JobSpec:
    return RunRequest().load(body)


def run_errors(**body) -> dict:
    with pytest.raises(ValidationError) as error:
        RunRequest().load(body)
    return error.value.messages


def test_seed_run_body_loads():
    job = load_run(
        token="t",
        command="node index.js",
        image="user/image",
        name="my_service",
        labels={"name": "value"},
        memory=1024,
    )
    assert job == JobSpec(
        image="user/image",
        command=("node", "index.js"),
        name="my_service",
        labels={"name": "value"},
        memory_mb=1024,
    )


def test_command_is_split_like_a_shell_without_running_one():
    assert load_run(image="alpine", command="sh -c 'echo a b'").command == ("sh", "-c", "echo a b")
    assert load_run(image="alpine", command="echo $HOME; rm -rf /").command == (
        "echo",
        "$HOME;",
        "rm",
        "-rf",
        "/",
    )


def test_command_as_a_list_is_kept():
    assert load_run(image="alpine", command=["echo", "a b"]).command == ("echo", "a b")


def test_omitted_command_means_the_image_default():
    assert load_run(image="alpine").command is None


BAD_COMMANDS = ["", "   ", [], "echo 'unbalanced", [1, 2], {"a": 1}, ["a\x00"]]


@pytest.mark.parametrize("command", BAD_COMMANDS)
def test_bad_commands_are_refused(command):
    assert "command" in run_errors(image="alpine", command=command)


@pytest.mark.parametrize(
    "image",
    [
        "alpine",
        "alpine:3.20",
        "user/image",
        "10.77.0.1:5000/private/busybox:1",
        "registry.example.com/a/b/c:v1.2-rc",
        "alpine@sha256:" + "a" * 64,
    ],
)
def test_valid_images(image):
    assert load_run(image=image).image == image


@pytest.mark.parametrize(
    "image",
    [
        "",
        "UPPER/case",
        "a b",
        "-lead",
        "image:",
        "image::tag",
        "../x",
        "a" * 300,
        5,
        "alpine\n",
        "alpine:ü",
    ],
)
def test_invalid_images(image):
    assert "image" in run_errors(image=image)


def test_image_is_required():
    assert "image" in run_errors(command="echo")


@pytest.mark.parametrize("name", ["my_service", "job-1", "a", "A1b2"])
def test_valid_names(name):
    assert load_run(image="alpine", name=name).name == name


@pytest.mark.parametrize("name", ["-x", "x-", "a b", "a/b", "x" * 64, "ü", "", 3, "job\n"])
def test_invalid_names(name):
    assert "name" in run_errors(image="alpine", name=name)


@pytest.mark.parametrize("memory", [0, 5, -1, 1.5, "250", True, 2**70])
def test_invalid_memory(memory):
    assert "memory" in run_errors(image="alpine", memory=memory)


def test_labels_under_the_reserved_prefix_are_refused():
    errors = run_errors(image="alpine", labels={"quartermaster.job": "false"})
    assert "reserved" in str(errors["labels"])
    errors = run_errors(image="alpine", labels={"QuarterMaster.Image": "x"})
    assert "labels" in errors


@pytest.mark.parametrize("labels", [{"a": 1}, ["a"], "a=b", {"": "x"}])
def test_invalid_labels(labels):
    assert "labels" in run_errors(image="alpine", labels=labels)


def test_unknown_fields_are_named():
    errors = run_errors(image="alpine", memroy=100, kind="service")
    assert set(errors) == {"memroy", "kind"}


def test_seed_auth_decodes():
    assert decode_registry_auth(SEED_AUTH) == {
        "username": "user",
        "password": "password",
        "auth": "",
        "email": "name@example.com",
    }


def test_auth_is_decoded_leniently():
    auth = {"username": "u", "password": "p?>>", "serveraddress": "r:5000"}
    raw = json.dumps(auth).encode()
    standard = base64.b64encode(raw).decode()
    urlsafe = base64.urlsafe_b64encode(raw).decode()
    assert standard != urlsafe  # the password makes the two alphabets differ
    for text in (standard, urlsafe, standard.rstrip("="), urlsafe.rstrip("=")):
        assert decode_registry_auth(text) == auth


@pytest.mark.parametrize(
    "text",
    [
        "not base64!",
        base64.b64encode(b"not json").decode(),
        base64.b64encode(b"[1]").decode(),
        base64.b64encode(b'{"username": "u"}').decode(),
        base64.b64encode(b'{"username": "u", "password": 1}').decode(),
        base64.b64encode(b'{"username": "u", "password": "p", "extra": "x"}').decode(),
    ],
)
def test_bad_auth_is_refused_naming_auth(text):
    errors = run_errors(image="alpine", auth=text)
    assert list(errors) == ["auth"]


def test_stop_request_takes_an_id():
    assert StopRequest().load({"token": "t", "id": "abc123"}) == "abc123"
    for bad in ({"id": "../etc"}, {"id": ""}, {}, {"id": 5}, {"id": "a", "x": 1}, {"id": "a\n"}):
        with pytest.raises(ValidationError):
            StopRequest().load(bad)


def test_job_fields_load():
    job = load_run(
        image="alpine",
        env={"A": "1", "LONG_NAME": "x y"},
        cpus=0.5,
        constraints=["node.labels.zone==a"],
        type="job",
        completions=3,
        parallelism=2,
        retries=2,
    )
    assert job.env == {"A": "1", "LONG_NAME": "x y"}
    assert job.cpus == 0.5
    assert job.constraints == ("node.labels.zone==a",)
    assert (job.type, job.completions, job.parallelism, job.retries) == ("job", 3, 2, 2)


def test_service_defaults():
    job = load_run(image="alpine")
    assert (job.type, job.completions, job.parallelism, job.retries, job.cpus) == (
        "service",
        1,
        1,
        0,
        None,
    )


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("env", {"A=B": "x"}),
        ("env", {"A": 1}),
        ("env", ["A=1"]),
        ("cpus", 0),
        ("cpus", 1e-10),  # would be 0 nano-CPUs: no limit at all
        ("cpus", 0.0099),
        ("cpus", -1),
        ("cpus", "1"),
        ("cpus", True),
        ("cpus", 1e309),
        ("cpus", 10**400),
        ("constraints", ["node.role"]),
        ("constraints", "node.role==worker"),
        ("constraints", [5]),
        ("type", "cron"),
        ("retries", -1),
        ("retries", 99),
        ("retries", 1.5),
    ],
)
def test_invalid_job_fields(field, value):
    assert field in run_errors(image="alpine", **{field: value})


def test_the_smallest_cpu_limit_is_a_hundredth():
    assert load_run(image="alpine", cpus=0.01).cpus == 0.01


def test_completions_and_parallelism_need_type_job():
    errors = run_errors(image="alpine", completions=3, parallelism=2)
    assert set(errors) == {"completions", "parallelism"}
    assert "completions" in run_errors(image="alpine", type="job", completions=0)


# Characters that mean something to shlex, and some that do not.
SHELL_TEXT = st.text(alphabet=" \t\r\n'\"\\\x00ab=$;é", max_size=12)


@given(SHELL_TEXT)
@settings(max_examples=3000)
def test_the_command_pattern_matches_what_the_command_field_takes(text):
    """COMMAND_PATTERN is how the document says what Command takes: they agree on every text."""
    try:
        Command().deserialize(text)
        taken = True
    except ValidationError:
        taken = False
    assert bool(COMMAND_PATTERN.match(text)) == taken


def test_a_cursor_is_a_position_in_the_form_the_document_states():
    position = ("2026-11-25T23:30:01.123456789", "u2zvmhn0z3x1fq5e8r7i2o3kd")
    assert CURSOR_PATTERN.match(encode_cursor(position))
    assert decode_cursor(encode_cursor(position)) == position
    for cursor in ("", "x", encode_cursor(position) + "\n", "2026-11-25T23:30:01.1_abc"):
        with pytest.raises(ValueError, match="not a cursor"):
            decode_cursor(cursor)


@given(st.from_regex(CURSOR_PATTERN))
def test_every_cursor_of_that_form_is_a_position(cursor):
    created, service_id = decode_cursor(cursor)
    assert encode_cursor((created, service_id)) == cursor


def test_query_booleans_are_true_or_false_only():
    assert LogsQuery().load({"follow": "true", "timestamps": "false"}).follow is True
    for spelling in ("True", "1", "yes", "on", ""):
        with pytest.raises(ValidationError) as error:
            LogsQuery().load({"timestamps": spelling})
        assert error.value.messages == {"timestamps": ["must be true or false"]}


def test_query_numbers_are_taken_as_json_writes_them_and_no_other_way():
    for text in ("0", "60", "0.5", "1e1", "-0"):
        assert StatusQuery().load({"wait": text})["wait"] == float(text)
    # What Python's float() and int() would read besides.
    for text in (" 1", "1 ", "1_0", "\u0661", "+1", ".5", "1.", "inf", "nan", ""):
        with pytest.raises(ValidationError):
            StatusQuery().load({"wait": text})
        with pytest.raises(ValidationError):
            JobsQuery().load({"limit": text})


def test_keys_of_labels_and_env_are_named_in_the_error():
    errors = run_errors(image="alpine", labels={"ok": "1", "quartermaster.x": "1"})
    assert list(errors["labels"]) == ["quartermaster.x"]
    errors = run_errors(image="alpine", env={"A=B": "1", "": "2"})
    assert set(errors["env"]) == {"A=B", ""}


def test_an_auth_nested_too_deeply_is_refused_not_a_crash():
    text = base64.b64encode(b"[" * 100_000).decode()
    assert list(run_errors(image="alpine", auth=text)) == ["auth"]


def test_an_integer_may_be_written_with_a_zero_fraction():
    """JSON, and the JSON Schema of the document, do not tell 3.0 from 3."""
    job = load_run(image="alpine", memory=512.0, type="job", completions=3.0, retries=1.0)
    assert (job.memory_mb, job.completions, job.retries) == (512, 3, 1)
    assert type(job.memory_mb) is int


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("image", "a" * 28 + "!"),  # took ~20 s (nested quantifiers over the same text)
        ("name", "a" * 28 + "!"),  # took ~3 s, doubling with each character
        ("image", "a-" * 100_000 + "!"),
        ("image", "a." * 100_000 + "/!"),
        ("constraints", ["ab==" + "b " * 100_000 + "!"]),
        ("callback_url", "http://" + "a." * 100_000 + " "),
        ("labels", {"a" * 200_000: "b" * 200_000 + "\x00"}),
    ],
    ids=["image", "name", "image-dashes", "image-dots", "constraint", "callback_url", "labels"],
)
def test_a_near_miss_is_refused_at_once_not_backtracked(field, value):
    started = time.monotonic()
    assert field in run_errors(**{"image": "alpine", field: value})
    assert time.monotonic() - started < 2  # a backtracking pattern takes hours at these sizes


def test_each_job_spec_field_is_a_run_field_and_the_reverse():
    """A field added to one and not the other would vanish silently (or fail every /run)."""
    spec = {field.name for field in dataclasses.fields(JobSpec)}
    body = set(RunRequest().fields) - set(TokenRequest().fields)
    assert body == spec - RunRequest.NOT_FROM_THE_BODY


def test_a_body_of_only_an_image_is_the_job_spec_of_its_defaults():
    assert load_run(image="alpine") == JobSpec(image="alpine")


def test_every_field_of_a_body_reaches_the_job_spec():
    body = {
        "image": "alpine",
        "command": "echo hi",
        "name": "every_field",
        "labels": {"a": "b"},
        "env": {"A": "1"},
        "memory": 64,
        "cpus": 0.5,
        "constraints": ["node.labels.zone==a"],
        "type": "job",
        "completions": 3,
        "parallelism": 2,
        "retries": 1,
        "timeout": 60,
        "ttl": 120,
        "callback_url": "http://10.0.0.1/done",
        "auth": SEED_AUTH,
    }
    job = RunRequest(callback_allow_private=True).load(body)
    defaults = JobSpec(image="other")
    unset = [
        field.name
        for field in dataclasses.fields(JobSpec)
        if getattr(job, field.name) == getattr(defaults, field.name)
    ]
    assert sorted(unset) == sorted(RunRequest.NOT_FROM_THE_BODY)
    assert (job.memory_mb, job.registry_auth["username"]) == (64, "user")
