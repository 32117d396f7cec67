"""Test modules are imported by their file names (pytest's default import mode): a name used in
both tiers would break a run over both."""

from collections import Counter

from support.settings import PROJECT_ROOT


def test_test_module_names_are_unique_across_the_tiers():
    names = Counter(path.name for path in (PROJECT_ROOT / "tests").glob("*/test_*.py"))
    assert [name for name, count in names.items() if count > 1] == []
