"""Both tiers: the shared helpers' asserts explained as in a test (tests/support)."""

import pytest

pytest.register_assert_rewrite("support")
