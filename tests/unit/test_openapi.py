"""GET /openapi.json: a valid OpenAPI 3.1 document of every route, exactly as strict as the server
(what it allows is taken, what it refuses is refused). (The live app honouring it under every
check schemathesis has: tests/lab/test_fuzzing.py.)"""

import base64
import json
import re

import jsonschema_rs
import pytest
from marshmallow import ValidationError
from openapi_spec_validator import validate

from quartermaster.compose import compose_app
from quartermaster.web.describe import is_page
from quartermaster.web.schemas.fields import decode_registry_auth
from quartermaster.web.schemas.patterns import REGISTRY_AUTH_FORMAT
from support.settings import BEARER, make_config


def test_the_document_is_valid_and_covers_every_route(app, flask_client):
    response = flask_client.get("/openapi.json")  # no token needed
    assert response.status_code == 200
    document = response.get_json()
    validate(document)
    assert document["openapi"].startswith("3.1.")
    assert "\\Z" not in json.dumps(document)  # Python-only regex syntax; JSON Schema says $
    routes = {
        (re.sub(r"<(\w+)>", r"{\1}", rule.rule), method.lower())
        for rule in app.url_map.iter_rules()
        if rule.endpoint != "static" and not is_page(app.view_functions[rule.endpoint])
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }
    documented = {(path, method) for path, item in document["paths"].items() for method in item}
    assert documented == routes
    assert not [path for path in document["paths"] if path.startswith("/ui")]  # not the API's
    run = document["paths"]["/run"]["post"]
    assert set(run["responses"]) == {
        "200", "400", "401", "403", "409", "413", "415", "429", "500", "503"
    }  # fmt: skip
    fields = document["components"]["schemas"]["RunRequest"]["properties"]
    assert {"image", "command", "memory", "auth", "callback_url", "type"} <= set(fields)
    assert document["paths"]["/healthz"]["get"]["security"] == []
    query = [
        parameter
        for item in document["paths"].values()
        for operation in item.values()
        for parameter in operation["parameters"]
        if parameter["in"] == "query"
    ]
    assert {parameter["name"] for parameter in query} >= {"name", "cursor", "wait"}
    assert not [parameter for parameter in query if "null" in str(parameter["schema"]["type"])]
    assert not [parameter for parameter in query if None in parameter["schema"].get("enum", [])]


# The document and the server, on the edges of what each parameter and field takes: for each
# value, the document allows it exactly when the server takes it. The app's Docker does not
# exist, so a request past validation answers 503, and a refused one 400.


@pytest.fixture(scope="module")
def offline():
    return compose_app(make_config()).test_client()  # the swarm runtime, and no Docker


@pytest.fixture(scope="module")
def document(offline):
    return offline.get("/openapi.json").get_json()


def document_allows(schema: dict, value) -> bool:
    # `auth` holds JSON inside base64, which no JSON Schema assertion can say: its format names
    # it (see the fuzzing below), and means what the server decodes.
    validator = jsonschema_rs.validator_for(
        schema, formats={REGISTRY_AUTH_FORMAT: is_registry_auth}, validate_formats=True
    )
    return validator.is_valid(value)


def is_registry_auth(text: str) -> bool:
    try:
        decode_registry_auth(text)
    except ValidationError:
        return False
    return True


def read_from_query(schema: dict, text: str):
    """The value a query text stands for: a boolean or a number written as in JSON (an integer
    without a fraction), else the text itself; for an array, an array of one such value."""
    if schema["type"] == "array":
        return [read_from_query(schema["items"], text)]
    kind = {"boolean": bool, "integer": int, "number": (int, float)}.get(schema["type"])
    if kind is None or text.strip() != text:  # JSON allows spaces around a value
        return text
    try:
        value = json.loads(text, parse_constant=str)  # NaN and Infinity stay text
    except ValueError:
        return text
    if isinstance(value, bool) != (schema["type"] == "boolean") or not isinstance(value, kind):
        return text
    return value


def verdict(response) -> bool:
    """Whether the server took the request: past validation, Docker is unreachable (503), or a
    route answered from the empty record store (200)."""
    assert response.status_code in (200, 400, 503), response.get_data(as_text=True)[:300]
    return response.status_code != 400


CURSOR = "2026-11-25T23:30:01.123456789_u2zvmhn0z3x1fq5e8r7i2o3kd"
QUERY_EDGES = {
    ("/jobs", "cursor"): ["", "x", "=", CURSOR, CURSOR[:-1] + "A", CURSOR.replace(".", ","),
                          "WyIyMDI2LTExLTI1VDIzOjMwOjAxLjEyMzQ1Njc4OSIsICJhYmMiXQ"],
    ("/jobs", "limit"): ["1", "1000", "0", "1001", "1.0", "+5", " 5", "5 ", "1_0", "\u0665", "05",
                         "-0", "1e2", ""],
    ("/jobs", "label"): ["a=b", "a=", "a=b=c", "=b", "a", "", "é=è", "a=\x00", "a\x00=b"],
    ("/jobs", "status"): ["failed", "FAILED", ""],
    ("/jobs", "name"): ["a", "a.b-c_d", ".a", "", "a" * 63, "a" * 64],
    ("/jobs", "image"): ["busybox", "10.77.0.1:5000/private/busybox:1", "Busy", "a b", "",
                         "busybox@sha256:" + "a" * 64],
    ("/jobs", "created_after"): ["0", "253402300799", "253402300800", "1.5", "-1", "1e3", "inf",
                                 ""],
    ("/jobs", "finished_before"): ["0", "1764226800.25", "-0.1", "NaN", " 1", "x"],
    ("/status/x", "wait"): ["0", "60", "60.5", "-0", "0.25", "1e1", "1E1", "+1", ".5", "1.",
                            " 1", "1_0", "\u0661", "inf", "NaN", "Infinity", "true", ""],
    ("/logs/x", "tail"): ["all", "0", "123456789", "1234567890", "ALL", "-1", "²", "à", "1.5",
                          ""],
    ("/logs/x", "since"): ["0", "253402300799", "253402300800", "1.5", "-1", "1e3", " 1", "inf"],
    ("/logs/x", "follow"): ["false", "true", "True", "1", "yes", "on", ""],
    ("/logs/x", "timestamps"): ["false", "true", "FALSE", "0", "no"],
    ("/logs/x", "stream"): ["stdout", "stderr", "both", ""],
}  # fmt: skip


def query_parameter(document: dict, path: str, name: str) -> dict:
    template = path.replace("/x", "/{job_id}")
    [parameter] = [
        parameter
        for parameter in document["paths"][template]["get"]["parameters"]
        if parameter["name"] == name
    ]
    return parameter["schema"]


@pytest.mark.parametrize(
    ("path", "name", "text"),
    [(path, name, text) for (path, name), texts in QUERY_EDGES.items() for text in texts],
)
def test_the_document_allows_a_query_value_exactly_when_the_server_takes_it(
    offline, document, path, name, text
):
    schema = query_parameter(document, path, name)
    allowed = document_allows(schema, read_from_query(schema, text))
    taken = verdict(offline.get(path, query_string={name: text}, headers=BEARER))
    assert allowed == taken, f"{name}={text!r}: the document {'allows' if allowed else 'refuses'}"


PATH_EDGES = ["a", "A1", "a.b", "a_b-c", "a" * 63, "a" * 64, "-a", ".a", "_a", "é", "a b"]


@pytest.mark.parametrize("reference", PATH_EDGES)
@pytest.mark.parametrize("path", ["/status/{job_id}", "/logs/{job_id}"])
def test_the_document_allows_a_job_reference_exactly_when_the_server_takes_it(
    offline, document, path, reference
):
    [parameter] = document["paths"][path]["get"]["parameters"][:1]
    allowed = document_allows(parameter["schema"], reference)
    taken = verdict(offline.get(path.replace("{job_id}", reference), headers=BEARER))
    assert allowed == taken, reference


def auth_text(auth: dict) -> str:
    return base64.b64encode(json.dumps(auth).encode()).decode()


HEX64 = "a" * 64
BODY_EDGES = [
    ("image", "alpine"), ("image", "registry.example.com:5000/a/b:v1"), ("image", HEX64 + ":t"),
    ("image", "alpine@sha256:" + HEX64), ("image", "alpine@sha512:" + "c" * 128),
    ("image", "alpine@sha256:" + "A" * 64), ("image", "alpine@md5:" + HEX64),
    ("image", "alpine@sha256:" + "a" * 32), ("image", HEX64), ("image", ""),
    ("image", "a" * 256), ("image", "alpine\n"), ("image", "Alpine"), ("image", "ABC/x"),
    ("image", "a" * 237), ("image", "a" * 238), ("image", "a" * 235 + ":t"),
    ("image", "a" * 236 + ":t"), ("image", "r.io/" + "a" * 232), ("image", "r.io/" + "a" * 233),
    ("command", "echo hi"), ("command", "''"), ("command", "a\\ b"),
    ("command", " 'a b' \"c\\\"\" "),
    ("command", ""), ("command", "  "), ("command", "'"), ("command", 'a "b'), ("command", "a\\"),
    ("command", "a\x00"), ("command", ["a"]), ("command", [""]), ("command", []),
    ("command", ["a\x00"]), ("command", None), ("command", 5),
    ("name", "a"), ("name", "a-b_c"), ("name", "a" * 63), ("name", "a" * 64), ("name", "-a"),
    ("name", "a-"), ("name", None), ("name", ""),
    ("labels", {"a": "b"}), ("labels", {"quartermasterx": "1"}), ("labels", {"a.b": ""}),
    ("labels", {"quartermaster.job": "1"}), ("labels", {"QuarterMaster.X": "1"}),
    ("labels", {"": "x"}), ("labels", {"a\x00": "x"}), ("labels", {"a": "x\x00"}),
    ("labels", {"a": 1}), ("labels", {f"k{n}": "" for n in range(64)}),
    ("labels", {f"k{n}": "" for n in range(65)}), ("labels", {"k" * 128: "v" * 512}),
    ("labels", {"k" * 129: "v"}), ("labels", {"k": "v" * 513}), ("labels", {"é" * 128: "ü"}),
    ("env", {f"V{n}": "" for n in range(128)}), ("env", {f"V{n}": "" for n in range(129)}),
    ("env", {"A": "x" * 65_535}), ("env", {"A": "x" * 65_537}),
    ("env", {"A": "1", "b c": "x\ny"}), ("env", {"A" * 256: ""}), ("env", {"A" * 257: ""}),
    ("env", {"A=B": "1"}), ("env", {"": "1"}), ("env", {"A\n": "1"}), ("env", {"A": "\x00"}),
    ("memory", 6), ("memory", 4194304), ("memory", 5), ("memory", 4194305), ("memory", "250"),
    ("memory", 1.5), ("memory", True), ("memory", None), ("memory", 512.0), ("retries", 1.0),
    ("cpus", 0.5), ("cpus", 0.01), ("cpus", 1024), ("cpus", 0.005), ("cpus", 0), ("cpus", -1),
    ("cpus", 1025), ("cpus", "1"),
    ("cpus", True),
    ("constraints", ["ab==b"]), ("constraints", [" node.labels.zone == a b "]),
    ("constraints", ["node.labels.x!=y"]), ("constraints", ["n_==*.?+()[]\\^$|/:-"]),
    ("constraints", ["a==b"]), ("constraints", ["0a==b"]), ("constraints", ["ab==é"]),
    ("constraints", ["ab==a,b"]), ("constraints", ["ab=b"]), ("constraints", ["ab==b\x0b"]),
    ("constraints", ["ab==b\x1c"]), ("constraints", ["ab==a=b"]), ("constraints", ["ab==!b"]),
    ("constraints", ["ab=="]), ("constraints", ["ab==b"] * 33),
    ("type", "job"), ("type", "cron"), ("type", None),
    ("retries", 0), ("retries", 4), ("retries", 5), ("retries", None),
    ("timeout", 1), ("timeout", 0), ("ttl", 0), ("ttl", -1), ("ttl", 31536001),
    ("ttl", 604800), ("ttl", 604801),  # MAX_TTL: the history ttl, a week, by default
    ("callback_url", "http://a"), ("callback_url", "https://hooks.example.com/x?y=1#z"),
    ("callback_url", "HTTP://user:p%41ss@10.0.0.1:8080/"), ("callback_url", "http://a/"),
    ("callback_url", "http://a?"), ("callback_url", "http://a.b.c."), ("callback_url", "ftp://a"),
    ("callback_url", "http://a:65535/"), ("callback_url", "http://a:000080"),
    ("callback_url", "http://a:65536/"), ("callback_url", "http://a:"),
    ("callback_url", "http://a." + "b" * 63), ("callback_url", "http://a." + "b" * 64),
    ("callback_url", "http://[::1]/"), ("callback_url", "http://[fe80::1:2]:8080/x"),
    ("callback_url", "http://[::ffff:1.2.3.4]/"), ("callback_url", "http://[1:2]/"),
    ("callback_url", "http://[::1%25eth0]/"), ("callback_url", "http://é/"),
    ("callback_url", "http://a/é"), ("callback_url", "http://a b"), ("callback_url", "http://"),
    ("callback_url", ""), ("callback_url", "http://-a"), ("callback_url", None),
    ("auth", auth_text({"username": "u", "password": "p"})),
    ("auth", auth_text({"identitytoken": "t"})), ("auth", "x"), ("auth", auth_text([1])),
    ("auth", auth_text({"username": "u"})), ("auth", auth_text({"username": "u", "p": "x"})),
    ("auth", None),
]  # fmt: skip


@pytest.mark.parametrize(("field", "value"), BODY_EDGES)
def test_the_document_allows_a_run_field_exactly_when_the_server_takes_it(
    offline, document, field, value
):
    body = {"image": "alpine", field: value}
    allowed = document_allows(document["components"]["schemas"]["RunRequest"], body)
    taken = verdict(offline.post("/run", json=body, headers=BEARER))
    assert allowed == taken, f"{field}: {value!r}"


@pytest.mark.parametrize("ttl", [0, 86400, 86401, 604800])
def test_the_document_allows_a_ttl_up_to_the_configured_max_ttl(ttl):
    """MAX_TTL is a setting: the document of a server with another says that one."""
    flask_client = compose_app(make_config(ttl=60, max_ttl=86400)).test_client()
    schema = flask_client.get("/openapi.json").get_json()["components"]["schemas"]["RunRequest"]
    body = {"image": "alpine", "ttl": ttl}
    allowed = document_allows(schema, body)
    assert allowed == verdict(flask_client.post("/run", json=body, headers=BEARER))
    assert allowed == (ttl <= 86400)


def test_the_document_gives_the_servers_defaults_of_memory_and_ttl():
    """MEMORY and HISTORY_TTL are settings: what a /run without them runs with (the dashboard's
    Run form shows the memory's)."""
    client = compose_app(make_config(memory_mb=512, ttl=3600)).test_client()
    fields = client.get("/openapi.json").get_json()["components"]["schemas"]["RunRequest"]
    assert fields["properties"]["memory"]["default"] == 512
    assert fields["properties"]["ttl"]["default"] == 3600


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("labels", {f"{n:03d}" + "é" * 125: "ü" * 512 for n in range(64)}),  # 81,920 bytes
        ("env", {"A": "x" * 40_000, "B": "y" * 40_000}),
    ],
)
def test_the_size_of_labels_and_env_in_all_is_the_one_limit_the_document_only_describes(
    offline, document, field, value
):
    """No JSON Schema keyword sums a dictionary's keys and values: the document says the limit
    in the field's description, and allows what the server refuses past it (only there: each
    other limit of theirs is in the edges above)."""
    schema = document["components"]["schemas"]["RunRequest"]
    assert "64 KiB" in schema["properties"][field]["description"]
    body = {"image": "alpine", field: value}
    assert document_allows(schema, body)
    response = offline.post("/run", json=body, headers=BEARER)
    assert response.status_code == 400
    assert "at most 64 KiB" in response.get_json()["fields"][field][0]


def test_the_document_allows_as_many_label_filters_as_the_server_takes(offline, document):
    schema = query_parameter(document, "/jobs", "label")
    for count, taken in ((64, True), (65, False)):
        filters = [f"k{n}=v" for n in range(count)]
        assert document_allows(schema, filters) == taken
        response = offline.get("/jobs", query_string={"label": filters}, headers=BEARER)
        assert verdict(response) == taken


@pytest.mark.parametrize(
    "body",
    [
        {"image": "alpine", "type": "job", "completions": 3, "parallelism": 2},
        {"image": "alpine", "completions": None, "parallelism": None},
        {"image": "alpine", "completions": 3},
        {"image": "alpine", "type": "service", "parallelism": 2},
    ],
)
def test_the_document_allows_job_fields_exactly_when_the_server_takes_them(offline, document, body):
    allowed = document_allows(document["components"]["schemas"]["RunRequest"], body)
    assert allowed == verdict(offline.post("/run", json=body, headers=BEARER))


@pytest.mark.parametrize(
    "key", ["a", "order-7421", "a b", "~" * 255, "!", "", " a", "a ", "\ta", "a" * 256, "é", "\x7f"]
)
def test_the_document_allows_an_idempotency_key_exactly_when_the_server_takes_it(
    offline, document, key
):
    [parameter] = document["paths"]["/run"]["post"]["parameters"]
    assert parameter["name"] == "Idempotency-Key"
    allowed = document_allows(parameter["schema"], key)
    headers = {**BEARER, "Idempotency-Key": key}
    taken = verdict(offline.post("/run", json={"image": "alpine"}, headers=headers))
    assert allowed == taken, repr(key)


def test_the_429_is_documented_for_both_long_routes(flask_client):
    document = flask_client.get("/openapi.json").get_json()
    for path in ("/status/{job_id}", "/logs/{job_id}"):
        assert "Retry-After" in document["paths"][path]["get"]["responses"]["429"]["description"]
