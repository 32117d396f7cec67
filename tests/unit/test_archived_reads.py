"""A job whose service is gone (archived) is read from the store alone: no call to the runtime for
its /status (with or without a wait), /logs, /history or /stop, by id, name or prefix. A live job
is still read from the runtime, whatever the store holds. (On the lab, counted in Engine API
calls: tests/lab/test_history.py.)"""

import pytest

from quartermaster.compose import compose_app
from support.api import ApiClient
from support.counted_runtime import CountedRuntime
from support.fake_runtime import FakeRuntime
from support.settings import make_config


@pytest.fixture
def runtime() -> CountedRuntime:
    return CountedRuntime(FakeRuntime(make_config()))


@pytest.fixture
def api(runtime) -> ApiClient:
    return ApiClient(compose_app(make_config(), runtime).test_client())


def archived_job(api, name: str) -> str:
    """A job that printed two lines and ended, stopped since: its record is all there is."""
    job_id = api.run_ok(image="busybox", command="sh -c 'echo one; echo two'", name=name)
    api.wait_for(job_id, "complete")
    assert api.stop(job_id).status_code == 200
    return job_id


@pytest.mark.parametrize("how", ["id", "name", "prefix"])
def test_an_archived_job_is_read_without_asking_the_runtime(api, runtime, how):
    job_id = archived_job(api, "nightly")
    reference = {"id": job_id, "name": "nightly", "prefix": job_id[:8]}[how]
    runtime.calls.clear()
    assert api.status(reference).get_json()["status"] == "complete"
    assert api.status(reference, "?wait=30").get_json()["status"] == "complete"  # at once
    assert api.logs(reference) == "one\ntwo\n"
    assert api.logs(reference, "?tail=1") == "two\n"
    assert api.get_ok(f"/history/{reference}")["id"] == job_id
    assert runtime.calls == []


def test_a_stop_of_an_archived_job_by_id_changes_nothing_and_asks_nothing(api, runtime):
    job_id = archived_job(api, "nightly")
    runtime.calls.clear()
    assert api.stop(job_id).get_json() == {"success": True, "id": job_id}
    assert runtime.calls == []


def test_a_live_job_is_read_from_the_runtime_though_an_archived_one_has_its_name(api, runtime):
    archived = archived_job(api, "nightly")
    live = api.run_ok(image="busybox", command="sleep 30", name="nightly")
    runtime.calls.clear()
    assert api.status("nightly").get_json()["id"] == live
    assert "job_status" in runtime.calls
    assert api.status(archived).get_json()["id"] == archived  # its full id: the archived one


def test_a_finished_job_whose_service_is_still_there_is_read_from_the_runtime(api, runtime):
    job_id = api.run_ok(image="busybox", command="echo done")
    api.wait_for(job_id, "complete")
    runtime.calls.clear()
    assert api.status(job_id).get_json()["status"] == "complete"
    assert runtime.calls == ["job_status"]
