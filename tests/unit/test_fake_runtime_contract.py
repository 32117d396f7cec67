"""The runtime contract (support/contract.py) against the in-memory runtime the unit tier's HTTP
tests run over: what they show holds of the swarm too (tests/lab/test_swarm_runtime_contract.py
runs the same cases there)."""

import pytest

from support.contract import RuntimeContract


class TestFakeRuntime(RuntimeContract):
    @pytest.fixture
    def image(self):
        return "qm/busybox:latest"

    @pytest.fixture
    def service_of(self, runtime):
        return runtime.service

    @pytest.fixture
    def pace(self):
        return 0.1  # its jobs run ten times faster than the lab's
