"""Placement constraint syntax and matching: pure logic on node JSON. (The same predictions
checked against the lab swarm's own scheduler: tests/lab/test_placement_predictions.py.)"""

import pytest

from quartermaster.jobs.constraints import is_valid_constraint, node_matches

NODE = {
    "ID": "abc123",
    "Spec": {"Role": "worker", "Availability": "active", "Labels": {"zone": "a", "Gpu": "Yes"}},
    "Status": {"State": "ready", "Addr": "10.77.0.11"},
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
        (["node.labels.zone==A"], True),  # values: case-insensitive
        (["node.labels.Gpu==yes"], True),
        (["node.labels.gpu==Yes"], False),  # label names: exact
        (["NODE.LABELS.Gpu==Yes"], True),
        (["node.labels.missing==x"], False),
        (["node.labels.missing!=x"], True),
        (["engine.labels.tier==FAST"], True),
        (["node.ip==10.77.0.11"], True),
        (["node.ip!=10.77.0.11"], False),
        (["node.ip==::ffff:10.77.0.11"], True),
        (["node.ip==10.77.0.0/24"], True),
        (["node.ip==10.77.0.5/24"], True),  # host bits allowed, as Go's ParseCIDR
        (["node.ip!=10.77.0.0/24"], False),
        (["node.ip==10.78.0.0/16"], False),
        (["node.ip==fd00::/8"], False),
        (["node.ip==not-an-address"], False),
        (["node.ip!=not-an-address"], False),  # malformed: no node, whatever the operator
        (["node.unknown==x"], False),
        (["node.unknown!=x"], False),  # unknown keys match no node, whatever the operator
        (["node.labels.==x"], False),
        (["node.role==worker", "node.labels.zone==b"], False),
        ([], True),
    ],
)
def test_matching(constraints, expected):
    assert node_matches(NODE, constraints) is expected


@pytest.mark.parametrize(
    "text",
    ["node.role==worker", "node.labels.a!=b", " ab == b ", "node.ip==10.0.0.0/8", "_k==a b"],
)
def test_valid(text):
    assert is_valid_constraint(text)


@pytest.mark.parametrize(
    "text",
    ["node.role", "==x", "a=b", "ab==", "ab===b", "a b==c", "", "a==b", "ab==c!d", "ab==é",
     "ab!=c==d", "ab==c\x00"],
)  # fmt: skip
def test_invalid(text):
    assert not is_valid_constraint(text)
