"""The runtime contract (support/contract.py) against the swarm runtime on the lab: the cases
the in-memory runtime of the unit tier passes too (tests/unit/test_fake_runtime_contract.py)."""

import pytest

from support.contract import RuntimeContract


class TestSwarmRuntime(RuntimeContract):
    @pytest.fixture
    def image(self, lab):
        return lab.image

    @pytest.fixture
    def service_of(self, docker_client):
        return docker_client.api.inspect_service

    @pytest.fixture
    def pace(self):
        return 1.0
