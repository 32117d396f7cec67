"""/readyz predicts what the lab swarm's own scheduler places, constraint by constraint. (The
syntax and matching rules: tests/unit/test_constraints.py.)"""

import contextlib
import time

import pytest

from quartermaster.compose import compose_app
from support.lab import lab_config, this_test_labels

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
        labels=this_test_labels(),
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
        app = compose_app(lab_config(constraints=(constraint,)))
        predicted = app.test_client().get("/readyz").status_code == 200
        placed = swarm_places(docker_client, constraint)
        if predicted != placed:
            mismatches.append((constraint, {"readyz": predicted, "swarm": placed}))
    assert not mismatches
