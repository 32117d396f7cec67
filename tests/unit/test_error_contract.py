"""The error contract, offline: each error answers with the status its class declares (a subclass
as its base), in the one JSON shape; the statuses are described once; the public routes are the
ones whose @describe says so. No Docker: the app runs over a job runtime that raises."""

import inspect
import json

import pytest

from quartermaster.compose import compose_app
from quartermaster.jobs import errors as job_errors
from quartermaster.web.describe import operation_of
from quartermaster.web.errors import ERROR_DESCRIPTIONS, ApiError, raw_error_answer
from support.settings import TOKEN, make_config

BEARER = {"Authorization": f"Bearer {TOKEN}", "X-Request-ID": "req-1"}
DOMAIN_ERRORS = [
    cls
    for _name, cls in inspect.getmembers(job_errors, inspect.isclass)
    if issubclass(cls, job_errors.DomainError)
]


class JobNotFoundInTheHistory(job_errors.JobNotFound):
    """A kind the HTTP layer has never heard of: it answers as its base."""


class SwarmTrouble(job_errors.SwarmError):
    """A swarm error of a kind not told apart."""


class Raising:
    """A job runtime whose every read of the nodes raises the error it was given (/nodes has
    nothing to fall back on, unlike /status, which looks for a job the swarm lacks in the
    history)."""

    def __init__(self, error: Exception):
        self.error = error

    def nodes(self):
        raise self.error


def status_answer(error: Exception):
    app = compose_app(make_config(), Raising(error))
    return app.test_client().get("/nodes", headers=BEARER)


@pytest.mark.parametrize(
    ("error", "code"),
    [(cls("what went wrong"), cls.http_status) for cls in DOMAIN_ERRORS]
    + [
        (JobNotFoundInTheHistory("no such job"), 404),
        (SwarmTrouble("odd"), 502),
        (ApiError(429, "busy", headers={"Retry-After": "5"}), 429),
    ],
    ids=lambda value: type(value).__name__ if isinstance(value, Exception) else str(value),
)
def test_an_error_answers_with_the_status_its_class_declares(error, code):
    response = status_answer(error)
    assert response.status_code == code
    assert response.get_json() == {
        "success": False,
        "code": code,
        "error": str(error),
        "request_id": "req-1",
    }


def test_an_api_error_carries_its_fields_and_headers():
    error = ApiError(429, "busy", {"wait": ["too long"]}, headers={"Retry-After": "5"})
    response = status_answer(error)
    assert response.headers["Retry-After"] == "5"
    assert list(response.get_json()) == ["success", "code", "error", "fields", "request_id"]
    assert response.get_json()["fields"] == {"wait": ["too long"]}


def test_an_unexpected_error_is_a_500_without_its_message():
    response = status_answer(RuntimeError("secret detail"))
    assert response.status_code == 500
    assert "secret detail" not in response.get_data(as_text=True)


def test_every_status_an_error_or_a_route_declares_is_described():
    app = compose_app(make_config(), Raising(RuntimeError()))
    declared = {cls.http_status for cls in DOMAIN_ERRORS}
    declared |= {
        code
        for view in app.view_functions.values()
        if (operation := operation_of(view)) is not None
        for code in operation.errors
    }
    assert declared - set(ERROR_DESCRIPTIONS) == set()


def test_gunicorn_answers_in_the_same_shape():
    answer = raw_error_answer(431, "Request Header Fields Too Large", "?token=abc")
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 431 ")
    assert json.loads(body) == {
        "success": False,
        "code": 431,
        "error": "Request Header Fields Too Large: ?token=[REDACTED]",
    }


@pytest.mark.parametrize("metrics_public", [False, True])
def test_the_public_routes_are_those_their_describe_makes_public(metrics_public):
    app = compose_app(make_config(metrics_public=metrics_public), Raising(RuntimeError()))
    public = {
        rule.rule
        for rule in app.url_map.iter_rules()
        if (operation := operation_of(app.view_functions[rule.endpoint])) is not None
        and operation.is_public(app.settings)
    }
    expected = {"/healthz", "/readyz", "/openapi.json"} | (
        {"/metrics"} if metrics_public else set()
    )
    assert public == expected
    client = app.test_client()
    answers = {
        rule.rule: client.open(
            rule.rule, method=min(rule.methods - {"HEAD", "OPTIONS"})
        ).status_code
        for rule in app.url_map.iter_rules()
    }
    pages = {"/ui", "/ui/", "/ui/<path:filename>"}  # the dashboard's: no token, not the API's
    assert {route for route, code in answers.items() if code != 401} == public | pages


def test_every_domain_error_keeps_its_status():
    # The HTTP answer of each kind, pinned: a change of base class must not change one.
    assert {cls.__name__: cls.http_status for cls in DOMAIN_ERRORS} == {
        "DomainError": 500,
        "SwarmError": 502,
        "DockerUnavailable": 503,
        "NotASwarmManager": 503,
        "NameConflict": 409,
        "IdempotencyConflict": 409,
        "DockerRejected": 400,
        "JobLookupError": 404,
        "JobNotFound": 404,
        "AmbiguousReference": 409,
        "StoreError": 503,
        "StoreUnavailable": 503,
        "StoreSchemaMismatch": 503,
        "StoreRefused": 400,
        "Forbidden": 403,
        "TenantNotFound": 404,
        "TenantConflict": 409,
        "TooManyRuns": 429,
        "InvalidInput": 400,
        "NeverPlaced": 400,
        "TemplateNotFound": 404,
        "TemplateConflict": 409,
    }


@pytest.mark.parametrize("cls", [job_errors.JobNotFound, job_errors.AmbiguousReference])
def test_a_job_lookup_failure_is_no_swarm_error(cls):
    # The store raises them too: a reference that names no job, or several, in the history.
    assert issubclass(cls, job_errors.JobLookupError)
    assert not issubclass(cls, job_errors.SwarmError)
