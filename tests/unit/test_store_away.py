"""The record store out of reach, over the fake runtime: live jobs are run, read and stopped on
the runtime alone; what needs the history is a JSON 503; a stopped job is halted, not removed,
so the reaper can still record it (its log with it) once the store is back."""

import pytest

from quartermaster.store import RecordStore
from quartermaster.web.app import create_app
from support.api import ApiClient
from support.fake_runtime import FakeRuntime
from support.settings import make_config

UNREACHABLE = "the record store cannot be reached"


@pytest.fixture
def runtime():
    return FakeRuntime(make_config())


@pytest.fixture
def api(runtime):
    # A directory that cannot be made: every use of the store fails, as with a database away.
    store = RecordStore("sqlite:////proc/no-such-dir/quartermaster.db")
    return ApiClient(create_app(make_config(), runtime, store).test_client(), poll_seconds=0.02)


def test_live_jobs_work_without_the_store(api, runtime):
    job_id = api.run_ok(image="busybox", command="sh -c 'echo hi; sleep 30'")
    assert api.wait_for(job_id, "started")["status"] == "started"
    assert api.stop(job_id).get_json() == {"success": True, "id": job_id}
    # Halted, not removed: the runtime still holds it, shutdown, with what it printed.
    assert runtime.job_status(job_id).status == "shutdown"
    assert api.status(job_id).get_json()["status"] == "shutdown"
    assert [line.text for line in runtime.capture_log(job_id, 4096).lines] == [b"hi\n"]


@pytest.mark.parametrize(
    "path", ["/jobs", "/status/nosuchjob", "/logs/nosuchjob", "/history/nosuchjob"]
)
def test_what_needs_the_history_is_a_json_503(api, path):
    response = api.get(path)
    assert response.status_code == 503
    assert response.get_json()["error"] == UNREACHABLE
