"""DEPLOYMENT: several quartermasters on one swarm, each seeing and reaping only its own jobs.
The names and marks here; two deployments on the real swarm: tests/lab/test_deployments.py."""

from types import SimpleNamespace

import pytest

from quartermaster.jobs import labels
from quartermaster.jobs.spec import JobSpec
from quartermaster.process.command_line import config_of
from quartermaster.process.config import ConfigError, from_env
from quartermaster.swarm.claims import MAX_CONFIG_NAME, claim_name
from quartermaster.swarm.reaping import Reaping
from quartermaster.swarm.spec import service_spec

TOKEN = "a-deployments-test-token"
KEY_HASH = "ab" * 32


def test_the_unnamed_deployment_is_the_default_and_marks_its_jobs_as_before():
    assert from_env({"TOKEN": TOKEN}).deployment == ""
    assert labels.job_mark("") == "true"
    assert labels.job_filter("") == "quartermaster.job=true"
    assert claim_name(KEY_HASH, "") == "quartermaster-key-" + KEY_HASH[:46]


def test_a_deployment_is_named_by_its_variable_or_its_flag(monkeypatch):
    assert from_env({"TOKEN": TOKEN, "DEPLOYMENT": "staging"}).deployment == "staging"
    monkeypatch.setenv("TOKEN", TOKEN)
    monkeypatch.setenv("DEPLOYMENT", "staging")
    assert config_of(["--deployment", "production"]).deployment == "production"


@pytest.mark.parametrize("name", ["true", "Staging", "-staging", "team_a", "a" * 33, "a b"])
def test_a_name_that_cannot_mark_jobs_is_refused_naming_the_variable(name):
    with pytest.raises(ConfigError, match="DEPLOYMENT"):
        from_env({"TOKEN": TOKEN, "DEPLOYMENT": name})


def test_a_named_deployments_jobs_carry_its_name_and_only_its_jobs_are_its():
    spec = service_spec(JobSpec(image="alpine"), None, "staging")
    assert spec["Labels"][labels.JOB] == "staging"
    assert labels.job_filter("staging") == "quartermaster.job=staging"
    assert labels.is_job({"Spec": spec}, "staging")
    assert not labels.is_job({"Spec": spec}, "")
    assert not labels.is_job({"Spec": spec}, "production")
    assert labels.is_job({"Spec": service_spec(JobSpec(image="alpine"))}, "")


def test_an_idempotency_keys_claim_is_apart_in_each_deployment():
    names = {claim_name(KEY_HASH, deployment) for deployment in ("", "staging", "production")}
    assert len(names) == 3
    assert all(name.startswith("quartermaster-key-") for name in names)
    assert all(len(name) <= MAX_CONFIG_NAME for name in names)
    assert claim_name(KEY_HASH, "a" * 32) == claim_name(KEY_HASH, "a" * 32)


def config(name: str, mark: str | None) -> dict:
    config_labels = {"quartermaster.callback-of": name}
    if mark is not None:
        config_labels[labels.JOB] = mark
    return {"ID": name, "Spec": {"Name": f"quartermaster-callback-{name}", "Labels": config_labels}}


class RecordingEngine:
    """The calls a snapshot makes, and every config on the swarm."""

    def __init__(self, configs: list[dict]):
        self.filters: list[dict] = []
        self._configs = configs

    def services(self, filters: dict) -> list[dict]:
        self.filters.append(filters)
        return []

    def tasks(self, filters: dict) -> list[dict]:
        self.filters.append(filters)
        return []

    def configs(self, filters: dict) -> list[dict]:
        return self._configs


@pytest.mark.parametrize(
    ("deployment", "kept"), [("", ["before-names", "unnamed"]), ("staging", ["staging"])]
)
def test_a_reaper_sees_only_its_deployments_jobs_and_the_configs_kept_beside_them(deployment, kept):
    engine = RecordingEngine(
        [
            config("before-names", None),  # made before deployments had names: the unnamed one's
            config("unnamed", "true"),
            config("staging", "staging"),
            config("production", "production"),
        ]
    )
    snapshot = Reaping(SimpleNamespace(engine=engine), deployment).snapshot()
    assert [record["ID"] for record in snapshot.records] == kept
    assert engine.filters == [{"label": labels.job_filter(deployment)}] * 2
