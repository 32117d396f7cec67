"""The live app honours its OpenAPI document: schemathesis against a real server, with every check
it has, from the run's first seed (support/fuzzing.py; the second seed:
test_fuzzing_another_seed.py). The document itself, and its edges: tests/unit/test_openapi.py."""

from collections import Counter

import pytest
import schemathesis

from support.fuzzing import (
    FUZZ_SETTINGS,
    SEEDS,
    assert_the_fuzzing_ran,
    fuzz,
    fuzzed_server,
    live_schema,
)

SEED = SEEDS[0]
requests_sent: Counter = Counter()  # (operation, status code): requests


@pytest.fixture(scope="module")
def server(tmp_path_factory, docker_client):
    with fuzzed_server(tmp_path_factory.mktemp("fuzz")) as started:
        yield started


@pytest.fixture
def schema(server):
    return live_schema(server, SEED)


@schemathesis.pytest.from_fixture("schema").parametrize()
@FUZZ_SETTINGS
def test_the_live_app_honours_its_document(case):
    fuzz(case, requests_sent)


def test_the_fuzzing_ran_every_check_and_sent_enough_requests():
    """Runs after the fuzzing above (pytest keeps a module's order)."""
    assert_the_fuzzing_ran(requests_sent)
