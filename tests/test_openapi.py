"""GET /openapi.json: a valid OpenAPI 3 document of every route, and the live app honours it."""

import contextlib
import json
from collections import Counter

import pytest
import schemathesis
from conftest import TOKEN, LiveServer
from hypothesis import HealthCheck, settings
from marshmallow.fields import Boolean
from openapi_spec_validator import validate
from schemathesis.specs.openapi import checks


def test_the_document_is_valid_and_covers_every_route(app, client):
    response = client.get("/openapi.json")  # no token needed
    assert response.status_code == 200
    document = response.get_json()
    validate(document)
    assert "\\Z" not in json.dumps(document)  # Python-only regex syntax; JSON Schema says $
    routes = {
        (rule.rule.replace("<job_id>", "{job_id}"), method.lower())
        for rule in app.url_map.iter_rules()
        if rule.endpoint != "static"
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }
    documented = {(path, method) for path, item in document["paths"].items() for method in item}
    assert documented == routes
    run = document["paths"]["/run"]["post"]
    assert set(run["responses"]) == {"200", "400", "401", "409", "413", "415", "500", "503"}
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
    assert not [parameter for parameter in query if "nullable" in parameter["schema"]]
    assert not [parameter for parameter in query if None in parameter["schema"].get("enum", [])]


# Enough examples per operation for well over 5,000 requests in all (counted below).
EXAMPLES_PER_OPERATION = 1100
MIN_REQUESTS = 5000
# Jobs the fuzzer creates match no node, so they stay pending: no image is ever pulled.
NEVER_PLACED = "node.labels.qm-fuzz==never-placed"
requests_sent: Counter = Counter()


@pytest.fixture(scope="module")
def fuzzed_server(tmp_path_factory, docker_client):
    server = LiveServer(tmp_path_factory.mktemp("fuzz") / "quartermaster.log")
    server.env["CONSTRAINTS"] = NEVER_PLACED
    # Private callback addresses allowed: /run then looks up no made-up callback host in the DNS.
    server.env["CALLBACK_ALLOW_PRIVATE"] = "1"
    yield server.start()
    server.stop()
    assert TOKEN not in server.log_text(), "the token leaked into the server's log"
    assert "Traceback" not in server.log_text()


@pytest.fixture
def live_schema(fuzzed_server):
    schema = schemathesis.openapi.from_url(f"{fuzzed_server.url}/openapi.json")
    # Every request carries the real token (below); a generated one would be overwritten there,
    # and a case negative only in its overwritten token would be judged as if it were invalid.
    schema.config.generation.update(with_security_parameters=False)
    return schema


schema = schemathesis.pytest.from_fixture("live_schema")


def no_long_waits(case):
    """schemathesis feeds the ids /run answered back into /status and /logs (and a short id
    prefix such as `0` may name one of them too). Those jobs are never placed (NEVER_PLACED), so
    a valid `?wait=` would hold the answer for all its seconds and a followed log would never
    end: valid waits are cut to 0.1 s, and logs are not followed (both are tested on jobs that
    end: test_wait.py, test_logs.py). Invalid values are left as they are."""
    query = case.query
    if not isinstance(query, dict):
        return
    wait = query.get("wait")
    with contextlib.suppress(TypeError, ValueError):  # "1.5" in the coverage phase
        if 0.1 < float(wait) <= 60 and not isinstance(wait, bool):
            query["wait"] = 0.1
    follow = query.get("follow")  # True, or "true" in the coverage phase
    if isinstance(follow, (bool, int, str)) and follow in Boolean.truthy:
        query["follow"] = False


def no_server_error_and_json(ctx, response, case):
    """Zero 5xx and zero non-JSON answers, beyond what the document allows."""
    requests_sent[case.operation.label] += 1
    path = case.operation.path
    if response.status_code >= 500:
        # /readyz answers 503 when no node can take a job, as it must here (see NEVER_PLACED).
        assert (path, response.status_code) == ("/readyz", 503), response.text
        assert "not ready" in response.json()["error"]
    # Prometheus' text format, a job's output as text: as the document says.
    if path not in ("/metrics", "/logs/{job_id}") or response.status_code != 200:
        assert response.headers.get("content-type") == ["application/json"], response.headers
        assert isinstance(response.json(), dict)


@schema.parametrize()
@settings(
    max_examples=EXAMPLES_PER_OPERATION,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
def test_the_live_app_honours_its_document(case):
    no_long_waits(case)
    case.call_and_validate(
        headers={"Authorization": f"Bearer {TOKEN}"},
        timeout=90,  # generous for a busy lab: no answer here waits (see no_long_waits)
        checks=[
            no_server_error_and_json,
            checks.status_code_conformance,
            checks.content_type_conformance,
            checks.response_schema_conformance,
            checks.negative_data_rejection,
            checks.ignored_auth,
        ],
        excluded_checks=[checks.positive_data_acceptance],
    )


def test_the_fuzzing_sent_enough_requests():
    """Runs after the fuzzing above (pytest keeps a module's order)."""
    print(f"fuzzing sent {sum(requests_sent.values())} requests: {dict(requests_sent)}")
    assert sum(requests_sent.values()) >= MIN_REQUESTS, requests_sent
