"""The token on every route, and every error as JSON in the seed's shape."""

import time

import pytest

from quartermaster.compose import compose_app
from support.api import assert_error
from support.settings import BEARER, TOKEN, make_config

# Every route that needs the token, and its answer when the token is right. The job /run makes is
# never placed (no node carries that label).
UNPLACEABLE_JOB = {"image": "qm/busybox:latest", "constraints": ["node.labels.qm-never==1"]}
AUTHORIZED = [
    ("post", "/run", UNPLACEABLE_JOB, 200),
    ("post", "/stop", {"id": "nosuchjob"}, 404),
    ("get", "/status/nosuchjob", None, 404),
    ("get", "/logs/nosuchjob", None, 404),
    ("get", "/history/nosuchjob", None, 404),
    ("get", "/jobs", None, 200),
    ("get", "/nodes", None, 200),
    ("get", "/metrics", None, 200),
    ("get", "/whoami", None, 200),
    ("get", "/audit", None, 200),
    ("post", "/tenants", {"name": "Not A Name"}, 400),  # refused after the token is checked
    ("get", "/tenants", None, 200),
    ("get", "/tenants/nosuchtenant", None, 404),
    ("patch", "/tenants/nosuchtenant", {}, 404),
    ("delete", "/tenants/nosuchtenant", None, 404),
    ("post", "/tenants/nosuchtenant/keys", {"name": "ci", "rights": ["read"]}, 404),
    ("get", "/tenants/nosuchtenant/keys", None, 404),
    ("delete", "/tenants/nosuchtenant/keys/nosuchkey", None, 404),
    ("get", "/tenants/nosuchtenant/usage", None, 404),
    ("post", "/templates", {"name": "Not A Name", "image": "qm/busybox:latest"}, 400),
    ("get", "/templates", None, 200),
    ("get", "/templates/nosuchtenant", None, 404),
    ("patch", "/templates/nosuchtenant", {}, 404),
    ("delete", "/templates/nosuchtenant", None, 404),
    ("post", "/templates/nosuchtenant/dispatch", {}, 404),
    ("get", "/templates/nosuchtenant/runs", None, 404),
]
PROTECTED = [(method, path, body) for method, path, body, _code in AUTHORIZED]
# The routes that reach Docker (/metrics does not; /jobs reads the record store, and needs Docker
# only for live jobs on its page; /whoami and tenants' routes are the store's alone).
DOCKER_ROUTES = [
    route
    for route in PROTECTED
    if route[1] not in ("/metrics", "/jobs", "/whoami", "/audit")
    and not route[1].startswith(("/tenants", "/templates"))
]
PATH_EXAMPLES = {"<job_id>": "nosuchjob", "<name>": "nosuchtenant", "<key>": "nosuchkey"}


@pytest.mark.parametrize(("method", "path", "body"), PROTECTED)
def test_missing_or_wrong_token_is_401_on_every_route(flask_client, method, path, body):
    send = getattr(flask_client, method)
    assert_error(send(path, json=body), 401)
    assert_error(send(path, json={**(body or {}), "token": "wrong"}), 401)
    assert_error(send(f"{path}?token=wrong", json=body), 401)
    assert_error(send(path, json=body, headers={"Authorization": "Bearer wrong"}), 401)
    assert_error(send(path, json={**(body or {}), "token": 12}), 401)
    # A right token does not excuse a wrong one elsewhere in the same request.
    headers = {"Authorization": f"Bearer {TOKEN}"}
    assert_error(send(f"{path}?token=wrong", json=body, headers=headers), 401)


def test_every_route_but_the_open_ones_needs_the_token(app):
    open_routes = {"/healthz", "/readyz", "/openapi.json"}
    open_routes |= {"/ui", "/ui/", "/ui/<path:filename>"}  # the dashboard's files (its own test)
    routes = set()
    for rule in app.url_map.iter_rules():
        path = rule.rule
        for argument, example in PATH_EXAMPLES.items():
            path = path.replace(argument, example)
        routes.add(path)
    assert routes - open_routes == {path for _method, path, _body in PROTECTED}


@pytest.mark.parametrize(("method", "path", "body", "code"), AUTHORIZED)
def test_the_token_is_accepted_in_body_query_or_bearer(flask_client, method, path, body, code):
    send = getattr(flask_client, method)
    ways = [
        {"path": f"{path}?token={TOKEN}", "json": body},
        {"path": path, "json": body, "headers": {"Authorization": f"Bearer {TOKEN}"}},
        {"path": path, "json": {**(body or {}), "token": TOKEN}},
    ]
    for way in ways:
        response = send(way.pop("path"), **way)
        assert response.status_code == code, response.get_data(as_text=True)[:300]


def test_the_token_never_appears_in_a_response(flask_client):
    response = flask_client.get(f"/status/{TOKEN}?token={TOKEN}")
    assert TOKEN not in response.get_data(as_text=True)


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", f"/status/{TOKEN}", None),  # Docker would log the id it cannot find
        ("GET", f"/logs/x?since={TOKEN}", None),
        ("POST", "/stop", {"id": TOKEN}),
        ("POST", "/run", {"image": "busybox", "name": f"job-{TOKEN}"}),
        ("POST", "/run", {"image": "busybox", "labels": {"a": TOKEN}}),
        ("POST", "/run", {"image": "busybox", "command": ["sh", "-c", f"echo {TOKEN}"]}),
        ("POST", "/run", {"image": "busybox", "env": {TOKEN: "1"}}),
    ],
)
def test_the_token_anywhere_else_is_refused_before_docker_sees_it(flask_client, method, path, body):
    response = flask_client.open(path, method=method, json=body, headers=BEARER)
    assert_error(response, 400)
    assert "may only be sent as token" in response.get_json()["error"]
    assert TOKEN not in response.get_data(as_text=True)


def test_unknown_route_is_json_404_and_wrong_method_json_405(flask_client):
    assert_error(flask_client.get("/nope"), 404)
    assert_error(flask_client.get("/run"), 405)
    assert_error(flask_client.delete(f"/status/x?token={TOKEN}"), 405)


def test_every_route_answers_each_method_with_allow_when_it_must(app, flask_client):
    """RFC 9110: a 405 lists the methods the route takes in Allow, as OPTIONS does; HEAD, which
    every GET route takes, answers as GET does without a body."""
    methods_of: dict[str, set[str]] = {}  # a path's rules (one a method, for /tenants) together
    for rule in app.url_map.iter_rules():
        path = rule.rule.replace("<path:filename>", "x")
        for argument, example in PATH_EXAMPLES.items():
            path = path.replace(argument, example)
        methods_of.setdefault(path, set()).update(rule.methods)
    for path, methods in methods_of.items():
        for method in {"GET", "POST", "PUT", "PATCH", "DELETE", "TRACE"} - methods:
            response = flask_client.open(path, method=method, headers=BEARER)
            assert_error(response, 405)
            assert set(response.headers["Allow"].split(", ")) == methods, (method, path)
        options = flask_client.open(path, method="OPTIONS", headers=BEARER)
        assert set(options.headers["Allow"].split(", ")) == methods, path
        if "GET" in methods:
            get, head = (
                flask_client.get(path, headers=BEARER),
                flask_client.head(path, headers=BEARER),
            )
            assert head.status_code == get.status_code, path
            assert head.headers["Content-Type"] == get.headers["Content-Type"]
            assert head.get_data() == b""


def test_options_is_json_with_the_allowed_methods(flask_client):
    response = flask_client.open(f"/run?token={TOKEN}", method="OPTIONS")
    assert response.status_code == 200
    assert response.get_json() == {"success": True, "allow": ["OPTIONS", "POST"]}
    assert set(response.headers["Allow"].split(", ")) == {"OPTIONS", "POST"}


def test_body_over_one_mib_is_413(flask_client):
    body = b'{"image": "' + b"a" * (1024 * 1024) + b'"}'
    response = flask_client.post(
        "/run",
        data=body,
        headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"},
    )
    assert assert_error(response, 413)["error"] == "the body is over the limit of 1 MiB"


@pytest.mark.parametrize(
    ("data", "content_type", "code"),
    [
        (b'{"image": ', "application/json", 400),
        (b"[1, 2]", "application/json", 400),
        (b'"image"', "application/json", 400),
        (b"\xff\xfe{}", "application/json", 400),
        (b"image=alpine", "application/x-www-form-urlencoded", 415),
        (b'{"image": "alpine"}', "text/plain", 415),
    ],
)
def test_malformed_bodies_are_clear_4xx(flask_client, data, content_type, code):
    response = flask_client.post(
        "/run",
        data=data,
        headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": content_type},
    )
    assert_error(response, code)


def test_an_incoming_request_id_is_echoed(flask_client):
    response = flask_client.get("/nope", headers={"X-Request-ID": "abc-123"})
    assert response.headers["X-Request-ID"] == "abc-123"
    assert response.get_json()["request_id"] == "abc-123"
    response = flask_client.get("/nope", headers={"X-Request-ID": "bad id with spaces"})
    assert response.headers["X-Request-ID"] != "bad id with spaces"


@pytest.mark.parametrize(("method", "path", "body"), DOCKER_ROUTES)
def test_docker_unreachable_is_503_fast_on_every_route(method, path, body):
    app = compose_app(make_config())  # the swarm runtime, on a Docker host that is not there
    send = getattr(app.test_client(), method)
    started = time.monotonic()
    response = send(path, json=body, headers={"Authorization": f"Bearer {TOKEN}"})
    assert time.monotonic() - started < 1
    assert_error(response, 503)


def test_an_unexpected_error_is_a_json_500_without_traceback(app, caplog):
    def broken():
        raise RuntimeError("secret internals")

    app.add_url_rule("/broken", "broken", broken)
    headers = {"X-Request-ID": "req-500", "Authorization": f"Bearer {TOKEN}"}
    response = app.test_client().get("/broken", headers=headers)
    body = assert_error(response, 500)
    assert "secret internals" not in response.get_data(as_text=True)
    assert "Traceback" not in response.get_data(as_text=True)
    assert body["request_id"] == "req-500"
    assert "req-500" in caplog.text


@pytest.mark.parametrize("header", ["X-Request-ID", "Idempotency-Key", "X-Anything"])
def test_the_token_in_a_header_is_refused_and_never_echoed(flask_client, header):
    response = flask_client.post("/run", json=UNPLACEABLE_JOB, headers={**BEARER, header: TOKEN})
    body = assert_error(response, 400)
    assert "may only be sent as token" in body["error"]
    assert TOKEN not in response.get_data(as_text=True)
    assert TOKEN not in str(response.headers)


def test_a_request_id_holding_the_token_is_never_adopted(flask_client):
    for path in ("/healthz", "/status/x", "/nope"):  # open, protected without a token, unknown
        response = flask_client.get(path, headers={"X-Request-ID": f"id-{TOKEN}"})
        assert TOKEN not in response.headers["X-Request-ID"]
        assert TOKEN not in response.get_data(as_text=True)


@pytest.mark.parametrize("escaped", [r"\ud800", r"a\udfffb", TOKEN[:-1] + r"\ud800"])
def test_a_body_token_with_a_lone_surrogate_is_401(flask_client, escaped):
    body = f'{{"image": "qm/busybox:latest", "token": "{escaped}"}}'  # JSON escapes, as they are
    response = flask_client.post("/run", data=body, content_type="application/json")
    assert_error(response, 401)
