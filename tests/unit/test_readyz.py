"""GET /readyz: whether a node matches the placement constraints; GET /nodes needs the token."""

from quartermaster.compose import compose_app
from support.fake_runtime import FakeRuntime
from support.settings import make_config


def test_nodes_needs_the_token(flask_client):
    assert flask_client.get("/nodes").status_code == 401


def test_readyz_needs_no_token_and_is_200_with_ready_workers(flask_client):
    response = flask_client.get("/readyz")
    assert response.status_code == 200
    assert response.get_json() == {"success": True, "ready": True}


def test_readyz_is_503_when_no_node_matches_the_constraints():
    config = make_config(constraints=("node.role==worker", "node.labels.gpu==yes"))
    response = compose_app(config, FakeRuntime(config)).test_client().get("/readyz")
    assert response.status_code == 503
    assert response.get_json()["error"] == (
        "not ready: no ready, active node matches the placement constraints "
        "['node.role==worker', 'node.labels.gpu==yes']"
    )


def test_readyz_is_503_without_docker():
    response = compose_app(make_config()).test_client().get("/readyz")
    assert response.status_code == 503
    assert response.get_json()["error"] == "Docker is unreachable"
