"""GET /jobs with If-None-Match: a page unchanged since the client's tag is a 304 with no body,
decided by the store alone (no call to the runtime). (That a page's tag changes with it: the
runtime contract, support/contract.py.)"""

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


def get_jobs(api, if_none_match: str | None = None):
    headers = {**api.headers, **({"If-None-Match": if_none_match} if if_none_match else {})}
    return api.client.get("/jobs", headers=headers)


def test_an_unchanged_page_is_a_304_without_a_call_to_the_runtime(api, runtime):
    api.run_ok(image="busybox", command="sleep 30")  # live: a full answer asks the runtime
    first = get_jobs(api)
    assert first.status_code == 200
    assert "job_statuses" in runtime.calls
    runtime.calls.clear()
    again = get_jobs(api, first.headers["ETag"])
    assert again.status_code == 304
    assert again.get_data() == b""
    assert again.headers["ETag"] == first.headers["ETag"]
    assert "Content-Type" not in again.headers
    assert runtime.calls == []


@pytest.mark.parametrize(
    "if_none_match",
    ["*", 'W/"other", {tag}', "{strong}", "  {tag}  "],
)
def test_if_none_match_takes_any_of_its_forms(api, if_none_match):
    api.run_ok(image="busybox", command="true")
    tag = get_jobs(api).headers["ETag"]
    assert tag.startswith('W/"')
    sent = if_none_match.format(tag=tag, strong=tag.removeprefix("W/"))
    assert get_jobs(api, sent).status_code == 304


def test_another_tag_gets_the_page(api):
    api.run_ok(image="busybox", command="true")
    answer = get_jobs(api, 'W/"0123456789abcdef01234567"')
    assert answer.status_code == 200
    assert len(answer.get_json()["jobs"]) == 1
