"""Hostile input: each gets a clear JSON 4xx, before anything reaches Docker.

The app here is the swarm runtime's, on a Docker host that does not exist: a request that got past
validation would answer 503, so every 4xx below is the validation's own. (Hostile requests to a
real server: tests/lab/test_server_refusals.py.)
"""

import base64
import json

import pytest

from quartermaster.compose import compose_app
from support.settings import BEARER, TOKEN, make_config

JSON = {"Content-Type": "application/json"}


@pytest.fixture
def offline():
    return compose_app(make_config()).test_client()


def assert_json_4xx(response, code=400):
    assert response.status_code == code, response.get_data(as_text=True)[:300]
    body = response.get_json()
    assert body["success"] is False and body["code"] == code
    return body


@pytest.mark.parametrize(
    "body",
    [
        b"[" * 100_000,
        b'{"a":' * 50_000 + b"1" + b"}" * 50_000,
        b'{"image": "alpine", "labels": ' + b'{"a":' * 5_000 + b'"x"' + b"}" * 5_001,
    ],
)
def test_deeply_nested_json_is_400(offline, body):
    for headers in ({**JSON, **BEARER}, JSON):
        assert (
            "nested too deeply"
            in assert_json_4xx(offline.post("/run", data=body, headers=headers))["error"]
        )


@pytest.mark.parametrize("field", ["memory", "cpus", "timeout", "ttl", "retries", "completions"])
@pytest.mark.parametrize("value", [10**30, -(10**30), 2**63, 1e308])
def test_numbers_far_beyond_64_bits_are_400_naming_the_field(offline, field, value):
    body = {"image": "alpine", field: value, **({"type": "job"} if field == "completions" else {})}
    response = offline.post("/run", json=body, headers=BEARER)
    assert field in assert_json_4xx(response)["fields"]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("image", "alpine\x00"),
        ("name", "job\x00"),
        ("command", "echo \x00"),
        ("command", ["echo", "\x00"]),
        ("labels", {"k\x00": "v"}),
        ("labels", {"k": "v\x00"}),
        ("env", {"K": "\x00"}),
        ("constraints", ["node.role==\x00"]),
    ],
)
def test_nul_characters_are_400_naming_the_field(offline, field, value):
    response = offline.post("/run", json={"image": "alpine", field: value}, headers=BEARER)
    assert field in assert_json_4xx(response)["fields"]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("image", "alpine@sha256:" + "A" * 64),  # Docker: upper-case hex is no digest
        ("image", "alpine@md5:" + "a" * 64),  # an algorithm Docker does not know
        ("image", "a" * 64),  # Docker reads it as an image id
        ("image", "a" * 238),  # Docker: over 255 as docker.io/library/...
        ("constraints", ["ab==é"]),  # swarmkit: a value it refuses (Docker answered 500)
        ("constraints", ["a==b"]),  # swarmkit: a one-character key
        ("callback_url", "http://[a:]/"),  # urlsplit raises on it
    ],
)
def test_what_docker_would_refuse_is_400_naming_the_field_before_docker(offline, field, value):
    response = offline.post("/run", json={"image": "alpine", field: value}, headers=BEARER)
    assert field in assert_json_4xx(response)["fields"]


@pytest.mark.parametrize("key", [" order-1", "order-1 ", "ordre-é", "", "k" * 256])
def test_an_idempotency_key_out_of_its_pattern_is_400_naming_it(offline, key):
    headers = {**BEARER, "Idempotency-Key": key}
    response = offline.post("/run", json={"image": "alpine"}, headers=headers)
    assert list(assert_json_4xx(response)["fields"]) == ["Idempotency-Key"]


@pytest.mark.parametrize(
    "path",
    ["/status/..%2F..%2Fetc", "/status/a%00b", "/status/%C3%BC", "/status/%FF%FE", "/logs/a%00",
     "/status/x?wait=%00", "/jobs?name=%00", "/jobs?cursor=%FF"],
)  # fmt: skip
def test_hostile_paths_and_queries_are_json_4xx(offline, path):
    response = offline.get(path, headers=BEARER)
    assert response.status_code in (400, 404)
    assert response.get_json()["success"] is False


@pytest.mark.parametrize(
    "headers",
    [
        {"Token": TOKEN},
        {"X-Token": TOKEN},
        {"Cookie": f"token={TOKEN}"},
        {"Authorization": f"Basic {TOKEN}"},
        {"Authorization": TOKEN},
        {"Authorization": f"Token {TOKEN}"},
    ],
)
def test_the_token_in_a_wrong_place_is_401(offline, headers):
    assert_json_4xx(offline.get("/status/x", headers=headers), 401)


@pytest.mark.parametrize(
    "token",
    [12, None, [TOKEN], {"t": TOKEN}, TOKEN + " ", TOKEN.upper()],
    # Named, not shown: the token is new each run, and test ids must be the same in every
    # process of a parallel run.
    ids=["number", "null", "list", "object", "trailing-space", "upper-case"],
)
def test_a_token_of_the_wrong_kind_in_the_body_is_401(offline, token):
    response = offline.post("/stop", json={"id": "x", "token": token})
    assert_json_4xx(response, 401)


def test_a_form_encoded_token_is_not_accepted(offline):
    response = offline.post("/stop", data={"token": TOKEN, "id": "x"})
    assert_json_4xx(response, 401)


# Text that cannot travel on: a lone surrogate (JSON's "\ud800") is not UTF-8, which neither
# database, Docker's labels nor the log can hold; PostgreSQL holds no NUL in its text.
NOT_TEXT = ["\ud800", "\udfff", "a\x00"]
# Every string of a /run body, as a body carrying `text` in it.
RUN_STRINGS = {
    "image": lambda text: text,
    "name": lambda text: text,
    "command": lambda text: f"echo {text}",
    "command ": lambda text: ["echo", text],
    "labels": lambda text: {"k": text},
    "labels ": lambda text: {text: "v"},
    "env": lambda text: {"K": text},
    "env ": lambda text: {text: "v"},
    "constraints": lambda text: [f"node.labels.zone=={text}"],
    "type": lambda text: text,
    "callback_url": lambda text: f"http://example.com/{text}",
    "auth": lambda text: base64.b64encode(
        json.dumps({"username": text, "password": "p"}).encode()
    ).decode(),
}


@pytest.mark.parametrize("text", NOT_TEXT)
@pytest.mark.parametrize("field", list(RUN_STRINGS))
def test_run_text_that_is_not_utf8_or_holds_nul_is_400_naming_the_field(offline, field, text):
    body = {"image": "alpine", field.strip(): RUN_STRINGS[field](text)}
    response = offline.post("/run", json=body, headers=BEARER)
    assert list(assert_json_4xx(response)["fields"]) == [field.strip()]


@pytest.mark.parametrize("text", NOT_TEXT)
def test_a_body_key_that_is_not_text_is_400_naming_it_escaped(offline, text):
    response = offline.post("/run", json={"image": "alpine", text: "x"}, headers=BEARER)
    assert list(assert_json_4xx(response)["fields"]) == [ascii(text)[1:-1]]


@pytest.mark.parametrize("text", NOT_TEXT)
def test_a_stop_reference_that_is_not_text_is_400_naming_it(offline, text):
    response = offline.post("/stop", json={"id": text}, headers=BEARER)
    assert list(assert_json_4xx(response)["fields"]) == ["id"]


# Every query parameter, with a NUL (a query string cannot carry a lone surrogate: Werkzeug
# decodes bytes that are not UTF-8 as U+FFFD).
QUERY_NUL = [
    ("/jobs", "label", "k=\x00"),
    ("/jobs", "label", "k\x00=v"),
    ("/jobs", "status", "failed\x00"),
    ("/jobs", "name", "a\x00"),
    ("/jobs", "image", "alpine\x00"),
    ("/jobs", "created_after", "1\x00"),
    ("/jobs", "finished_before", "1\x00"),
    ("/jobs", "limit", "1\x00"),
    ("/jobs", "cursor", "\x00"),
    ("/status/x", "wait", "\x00"),
    ("/logs/x", "follow", "true\x00"),
    ("/logs/x", "tail", "1\x00"),
    ("/logs/x", "since", "1\x00"),
    ("/logs/x", "timestamps", "true\x00"),
    ("/logs/x", "stream", "stdout\x00"),
]


@pytest.mark.parametrize(("path", "name", "value"), QUERY_NUL)
def test_a_query_parameter_holding_nul_is_400_naming_it(offline, path, name, value):
    response = offline.get(path, query_string={name: value}, headers=BEARER)
    assert list(assert_json_4xx(response)["fields"]) == [name]


@pytest.mark.parametrize("reference", ["a%00", "%ED%A0%80", "%00"])
@pytest.mark.parametrize("path", ["/status/", "/logs/", "/history/"])
def test_a_path_reference_that_is_not_text_is_400_naming_it(offline, path, reference):
    assert list(assert_json_4xx(offline.get(path + reference, headers=BEARER))["fields"]) == ["id"]


@pytest.mark.parametrize("key", ["a\x00b", "\x00"])
def test_an_idempotency_key_holding_nul_is_400_naming_it(offline, key):
    headers = {**BEARER, "Idempotency-Key": key}
    response = offline.post("/run", json={"image": "alpine"}, headers=headers)
    assert list(assert_json_4xx(response)["fields"]) == ["Idempotency-Key"]


@pytest.mark.parametrize(
    "labels", [{"k" * 129: "v"}, {"k": "v" * 513}, {"k": "\U0010ffff" * 513}, {"é" * 129: ""}]
)
def test_a_label_too_long_for_the_stores_index_is_400_naming_labels(offline, labels):
    """PostgreSQL indexes a label's key and value together, in at most 2704 bytes: a longer
    one was a 503 "cannot be reached" once the job had started, and its record never written."""
    response = offline.post("/run", json={"image": "alpine", "labels": labels}, headers=BEARER)
    assert list(assert_json_4xx(response)["fields"]) == ["labels"]
