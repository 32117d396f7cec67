"""What /run refuses before the runtime is asked: each a 400 naming the field, and no job made."""

import pytest

from quartermaster.compose import compose_app
from quartermaster.jobs.errors import StoreRefused
from quartermaster.jobs.query import JobQuery
from quartermaster.store.connection import REFUSED
from support.fake_runtime import FakeRuntime
from support.settings import TOKEN, make_config

IMAGE = "qm/busybox:latest"


def test_bad_fields_are_400_naming_each_field(api):
    response = api.run(image="NOT AN IMAGE", memory=0, labels={"quartermaster.job": "x"}, bogus=1)
    assert response.status_code == 400
    body = response.get_json()
    assert set(body["fields"]) == {"image", "memory", "labels", "bogus"}
    assert body["code"] == 400
    assert api.job_ids() == []


def test_a_missing_image_is_400(api):
    response = api.run(command="echo")
    assert response.status_code == 400
    assert "image" in response.get_json()["fields"]


def test_a_name_shaped_like_a_job_id_is_400(api):
    """25 lower-case letters and digits is the form of swarm's ids: as a name, it could pass
    for another job's id."""
    response = api.run(image=IMAGE, command="true", name="0123456789abcdefghijklmno")
    assert response.status_code == 400
    assert "looks like a job id" in response.get_json()["fields"]["name"][0]
    assert api.job_ids() == []
    # An upper-case letter cannot be in an id: that is just a name.
    assert api.run(image=IMAGE, command="true", name="0123456789abcdefghijklmnO").status_code == 200


@pytest.mark.parametrize("key", ["", "x" * 256, "tab\there", "ünï"])
def test_invalid_keys_are_400(api, key):
    response = api.client.post(
        "/run",
        json={"image": IMAGE},
        headers={**api.headers, "Idempotency-Key": key.encode("utf-8").decode("latin-1")},
    )
    assert response.status_code == 400
    assert "Idempotency-Key" in response.get_json()["fields"]


@pytest.mark.parametrize(
    "hosts,url,allowed",
    [
        (("localhost",), "http://localhost:8080/x", True),  # a host without a port: any port
        (("localhost:8080",), "http://localhost:8080/x", True),
        (("LocalHost:8080",), "http://localhost:8080/x", True),
        (("localhost:8080",), "http://localhost:8081/x", False),  # a host:port: that port only
        (("localhost:80",), "http://localhost/x", True),  # the scheme's default port
        (("localhost:80",), "https://localhost/x", False),
        (("localhost:8080",), "http://127.0.0.1:8080/x", False),  # the name, not its address
        (("[::1]:8080",), "http://[::1]:8080/x", True),
        (("localhost",), "http://10.0.0.1/x", False),
    ],
)
def test_callback_hosts_limit_where_callbacks_go(hosts, url, allowed):
    config = make_config(callback_hosts=hosts)
    app = compose_app(config, FakeRuntime(config))
    response = app.test_client().post(
        "/run", json={"token": TOKEN, "image": IMAGE, "command": "true", "callback_url": url}
    )
    if allowed:
        assert response.status_code == 200, response.get_json()
    else:
        assert response.status_code == 400
        assert "callbacks may only go to" in response.get_json()["fields"]["callback_url"][0]


@pytest.mark.parametrize("url", ["ftp://x/y", "not a url", "http://", 5])
def test_bad_callback_urls_are_400(api, url):
    response = api.run(image=IMAGE, callback_url=url)
    assert response.status_code == 400
    assert "callback_url" in response.get_json()["fields"]


def test_undecodable_auth_is_400_naming_auth(api):
    response = api.run(image="10.77.0.1:5000/private/busybox:1", auth="%%%not-base64%%%")
    assert response.status_code == 400
    assert list(response.get_json()["fields"]) == ["auth"]


@pytest.mark.parametrize(
    "settings,ttl,taken",
    [
        ({}, 7 * 24 * 3600, True),  # MAX_TTL defaults to HISTORY_TTL, a week
        ({}, 7 * 24 * 3600 + 1, False),
        ({}, 365 * 24 * 3600, False),  # a year, whatever HISTORY_TTL says: no more
        ({"ttl": 60, "max_ttl": 86400}, 86400, True),
        ({"ttl": 60, "max_ttl": 86400}, 86401, False),
        ({"ttl": 60}, 61, False),
    ],
)
def test_a_ttl_above_max_ttl_is_400_naming_the_maximum(settings, ttl, taken):
    config = make_config(**settings)
    app = compose_app(config, FakeRuntime(config))
    response = app.test_client().post("/run", json={"token": TOKEN, "image": IMAGE, "ttl": ttl})
    if taken:
        assert response.status_code == 200, response.get_json()
    else:
        assert response.status_code == 400
        assert response.get_json()["fields"] == {
            "ttl": [f"at most {config.ttl_limit} seconds (MAX_TTL)"]
        }


@pytest.mark.parametrize("labels", [{"k": "\ud800"}, {"\udfff": "v"}, {"k": "v\x00"}])
def test_text_that_is_not_utf8_is_400_before_the_job_starts_and_on_a_retry(api, runtime, labels):
    """A lone surrogate started the job, then failed its record with a 500 (again on a retry
    with the same Idempotency-Key), the job pending and without a history."""
    for _attempt in range(2):
        response = api.run_with_key("order-1", image=IMAGE, command="true", labels=labels)
        assert response.status_code == 400, response.get_json()
        assert list(response.get_json()["fields"]) == ["labels"]
    assert runtime.list_jobs(JobQuery()).jobs == []
    assert api.job_ids() == []


def test_a_first_record_the_store_refuses_does_not_fail_the_run(api, app, monkeypatch):
    """The job is started already: /run answers its id, and the reaper records it from the
    swarm (as when the store is out of reach)."""

    def refuse(*args, **kwargs):
        raise StoreRefused(REFUSED)

    monkeypatch.setattr(app.jobs.store, "add", refuse)
    job_id = api.run_ok(image=IMAGE, command="true")
    assert api.status(job_id).status_code == 200


# At the limits, and one past each: count, key and value length, and all of them together.
LABELS_AT_LIMITS = [
    {f"k{n}": "v" for n in range(64)},
    {"k" * 128: "v" * 512},
    {"é" * 128: "ü" * 512},  # 1,280 bytes: within 64 KiB
]
LABELS_PAST_LIMITS = [
    ({f"k{n}": "v" for n in range(65)}, "at most 64 labels"),
    ({"k" * 129: "v"}, "at most 128 characters"),
    ({"k": "v" * 513}, "at most 512 characters"),
    ({f"{n:03d}" + "é" * 125: "ü" * 512 for n in range(64)}, "at most 64 KiB"),  # 81,920 bytes
]
ENV_AT_LIMITS = [{f"V{n}": "1" for n in range(128)}, {"A": "x" * 65_535}]
ENV_PAST_LIMITS = [
    ({f"V{n}": "1" for n in range(129)}, "at most 128 variables"),
    ({"A": "x" * 65_537}, "at most 65536 characters"),
    ({"A": "x" * 40_000, "B": "y" * 40_000}, "at most 64 KiB"),
]


@pytest.mark.parametrize("labels", LABELS_AT_LIMITS)
def test_labels_at_the_limits_are_taken(api, labels):
    response = api.run(image=IMAGE, command="true", labels=labels)
    assert response.status_code == 200, response.get_json()


@pytest.mark.parametrize(("labels", "error"), LABELS_PAST_LIMITS)
def test_labels_past_the_limits_are_400_naming_labels(api, labels, error):
    response = api.run(image=IMAGE, command="true", labels=labels)
    assert response.status_code == 400
    assert error in str(response.get_json()["fields"]["labels"])
    assert api.job_ids() == []


@pytest.mark.parametrize("env", ENV_AT_LIMITS)
def test_env_at_the_limits_is_taken(api, env):
    assert api.run(image=IMAGE, command="true", env=env).status_code == 200


@pytest.mark.parametrize(("env", "error"), ENV_PAST_LIMITS)
def test_env_past_the_limits_is_400_naming_env(api, env, error):
    response = api.run(image=IMAGE, command="true", env=env)
    assert response.status_code == 400
    assert error in str(response.get_json()["fields"]["env"])
    assert api.job_ids() == []
