"""What a /run asks of the runtime: the job's create, then its description for the first record
(`new_job_status`: on the swarm, the service's inspect alone, not its tasks); with an
Idempotency-Key, its full status, as the key's job may be an earlier request's that ran."""

import pytest

from quartermaster.compose import compose_app
from quartermaster.store import RecordStore
from support.api import ApiClient
from support.counted_runtime import CountedRuntime
from support.fake_runtime import FakeRuntime
from support.settings import make_config


@pytest.fixture
def runtime() -> CountedRuntime:
    return CountedRuntime(FakeRuntime(make_config()))


@pytest.fixture
def store() -> RecordStore:
    return RecordStore(make_config().store_url)


@pytest.fixture
def api(runtime, store) -> ApiClient:
    return ApiClient(compose_app(make_config(), runtime, store).test_client())


def test_a_run_asks_for_the_new_jobs_description_only(api, runtime, store):
    job_id = api.run_ok(image="busybox", command="sleep 30")
    assert runtime.calls == ["create_job", "new_job_status"]
    assert store.status(job_id).id == job_id  # recorded before the answer


def test_a_run_with_an_idempotency_key_asks_for_its_jobs_full_status(api, runtime, store):
    response = api.client.post(
        "/run",
        json={"image": "busybox", "command": "sleep 30"},
        headers={**api.headers, "Idempotency-Key": "k-1"},
    )
    assert response.status_code == 200
    assert runtime.calls == ["create_job", "job_status"]
    assert store.status(response.get_json()["id"]).id == response.get_json()["id"]
