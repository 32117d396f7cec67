"""The access line names the job an answer is about, by its full id, without parsing the answer's
body again: the id is noted from the handler's document before it is serialized."""

import json
import logging

import flask
import pytest


@pytest.fixture
def access_lines(caplog):
    caplog.set_level(logging.INFO, logger="quartermaster.access")

    def lines() -> list[logging.LogRecord]:
        return [record for record in caplog.records if record.name == "quartermaster.access"]

    return lines


@pytest.fixture
def bodies_never_parsed(monkeypatch):
    def refuse(*_args, **_kwargs):
        raise AssertionError("an answer's body was parsed again")

    monkeypatch.setattr(flask.Response, "get_json", refuse)


def test_a_job_is_named_by_its_full_id_whatever_the_reference(api, access_lines):
    job_id = api.run_ok(image="busybox", command="sleep 30", name="nightly")
    assert access_lines()[-1].job_id == job_id
    for reference in ("nightly", job_id[:8]):
        assert api.status(reference).status_code == 200
        assert access_lines()[-1].job_id == job_id


def test_the_body_is_not_parsed_for_it(api, access_lines, bodies_never_parsed):
    job_id = json.loads(api.run(image="busybox", command="true").data)["id"]
    assert access_lines()[-1].job_id == job_id
    assert api.get("/jobs?limit=1000").status_code == 200
    assert access_lines()[-1].job_id is None


def test_an_error_names_no_job(api, access_lines):
    assert api.status("no-such-job").status_code == 404
    assert access_lines()[-1].job_id is None
