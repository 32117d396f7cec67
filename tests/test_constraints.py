"""Placement constraint syntax and matching: pure logic on node JSON."""

import pytest

from quartermaster.constraints import is_valid_constraint, node_matches

NODE = {
    "ID": "abc123",
    "Spec": {"Role": "worker", "Availability": "active", "Labels": {"zone": "a", "Gpu": "Yes"}},
    "Description": {
        "Hostname": "lab-worker-1",
        "Platform": {"OS": "linux", "Architecture": "x86_64"},
        "Engine": {"Labels": {"tier": "fast"}},
    },
}


@pytest.mark.parametrize(
    ("constraints", "expected"),
    [
        (["node.role==worker"], True),
        (["node.role == WORKER"], True),
        (["node.role!=worker"], False),
        (["node.hostname==lab-worker-1", "node.id==abc123"], True),
        (["node.platform.os==linux", "node.platform.arch==x86_64"], True),
        (["node.labels.zone==a"], True),
        (["node.labels.zone==A"], False),
        (["node.labels.Gpu==Yes"], True),
        (["node.labels.missing==x"], False),
        (["node.labels.missing!=x"], True),
        (["engine.labels.tier==fast"], True),
        (["node.role==worker", "node.labels.zone==b"], False),
        ([], True),
    ],
)
def test_matching(constraints, expected):
    assert node_matches(NODE, constraints) is expected


@pytest.mark.parametrize("text", ["node.role==worker", "node.labels.a!=b", " a == b "])
def test_valid(text):
    assert is_valid_constraint(text)


@pytest.mark.parametrize("text", ["node.role", "==x", "a=b", "a==", "a===b", "a b==c", ""])
def test_invalid(text):
    assert not is_valid_constraint(text)
