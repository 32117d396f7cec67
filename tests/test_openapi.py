"""GET /openapi.json: a valid OpenAPI 3 document of every route, and the live app honours it."""

import json

import pytest
import schemathesis
from conftest import TOKEN
from hypothesis import HealthCheck, settings
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


@pytest.fixture
def live_schema(live_server):
    return schemathesis.openapi.from_url(f"{live_server.url}/openapi.json")


schema = schemathesis.pytest.from_fixture("live_schema")


@schema.parametrize()
@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
def test_the_live_app_honours_its_document(case):
    case.call_and_validate(
        headers={"Authorization": f"Bearer {TOKEN}"},
        timeout=90,  # /status?wait may hold an answer for 60 s
        checks=[
            checks.status_code_conformance,
            checks.content_type_conformance,
            checks.response_schema_conformance,
            checks.negative_data_rejection,
            checks.ignored_auth,
        ],
        excluded_checks=[checks.positive_data_acceptance],
    )
