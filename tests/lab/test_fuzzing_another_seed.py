"""The live app honours its OpenAPI document: schemathesis against a real server, with every check
it has, from the run's second seed (support/fuzzing.py; the first seed: test_fuzzing.py).
The document itself, and its edges: tests/unit/test_openapi.py."""

from collections import Counter

import pytest
import schemathesis

from support.fuzzing import (
    FUZZ_SETTINGS,
    FUZZ_TIMEOUT_SECONDS,
    SEEDS,
    assert_the_fuzzing_ran,
    fuzz,
)

SEED = SEEDS[1]  # the cases of fuzzing_schema (tests/lab/conftest.py)
pytestmark = pytest.mark.timeout(FUZZ_TIMEOUT_SECONDS)
requests_sent: Counter = Counter()  # (operation, status code): requests


@schemathesis.pytest.from_fixture("fuzzing_schema").parametrize()
@FUZZ_SETTINGS
def test_the_live_app_honours_its_document_from_another_seed(case):
    fuzz(case, requests_sent)


def test_the_fuzzing_ran_every_check_and_sent_enough_requests():
    """Runs after the fuzzing above (pytest keeps a module's order)."""
    assert_the_fuzzing_ran(requests_sent)
