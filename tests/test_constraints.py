"""Placement constraint syntax and matching: pure logic on node JSON, and the same predictions
checked against the lab swarm's own scheduler."""

import contextlib
import time

import pytest
from conftest import TEST_LABEL, make_config

from quartermaster.jobs.constraints import is_valid_constraint, node_matches
from quartermaster.web.app import create_app

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


# What the lab's swarm offers: nodes lab-worker-1 and -2 at 10.77.0.11 and .12 beside the
# manager at 10.77.0.1; CASE_LABEL is put on lab-worker-1 for these tests.
CASE_LABEL = ("qm-case", "Mixed")
LAB_CONSTRAINTS = [
    "node.hostname==LAB-WORKER-1",
    "node.role==WORKER",
    "node.labels.qm-case==mixed",
    "node.labels.QM-CASE==Mixed",
    "node.labels.qm-case!=mixed",
    "node.ip==10.77.0.12",
    "node.ip==10.77.0.0/24",
    "node.ip!=10.77.0.0/24",
    "node.ip==10.77.0.200",
    "node.unknown!=x",
    "node.hostname==lab-worker-1",
    "node.hostname!=lab-worker-1",
]


@pytest.fixture
def case_label(docker_client):
    """CASE_LABEL on lab-worker-1 while the test runs."""
    [node] = [n for n in docker_client.nodes.list() if n.attrs["Description"]["Hostname"]
              == "lab-worker-1"]  # fmt: skip
    labels = dict(node.attrs["Spec"].get("Labels") or {})
    node.update({**node.attrs["Spec"], "Labels": {**labels, CASE_LABEL[0]: CASE_LABEL[1]}})
    yield
    node.reload()
    node.update({**node.attrs["Spec"], "Labels": labels})


def swarm_places(docker_client, constraint: str) -> bool:
    """Whether swarm's own scheduler places a service with this one constraint on a node."""
    service = docker_client.api.create_service(
        {"ContainerSpec": {"Image": "qm/busybox:latest", "Args": ["sleep", "30"]},
         "Placement": {"Constraints": [constraint]}},
        labels={TEST_LABEL: "constraints"},
    )["ID"]  # fmt: skip
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            for task in docker_client.api.tasks(filters={"service": service}):
                if task.get("NodeID"):
                    return True
                if "no suitable node" in task["Status"].get("Err", ""):
                    return False
            time.sleep(0.2)
        raise AssertionError(f"swarm neither placed nor refused {constraint!r}")
    finally:
        with contextlib.suppress(Exception):
            docker_client.api.remove_service(service)


def test_readyz_predicts_what_swarm_places(lab, docker_client, case_label):
    mismatches = []
    for constraint in LAB_CONSTRAINTS:
        app = create_app(make_config(constraints=(constraint,)))
        predicted = app.test_client().get("/readyz").status_code == 200
        placed = swarm_places(docker_client, constraint)
        if predicted != placed:
            mismatches.append((constraint, {"readyz": predicted, "swarm": placed}))
    assert not mismatches
