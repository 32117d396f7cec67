"""Settings from the environment and flags: pure logic, no Docker."""

import pytest

from quartermaster.config import Config, ConfigError, from_env


def test_defaults():
    config = from_env({"TOKEN": "t"})
    assert (config.port, config.memory_mb) == (9090, 250)
    assert config.constraints == ("node.role==worker",)
    assert config.bind_address == "0.0.0.0:9090"


def test_environment_is_read():
    config = from_env(
        {
            "TOKEN": "t",
            "PORT": "8080",
            "MEMORY": "512",
            "WORKERS": "3",
            "CONSTRAINTS": "node.role==worker, node.labels.pool==fast",
            "DOCKER_HOST": "unix:///x.sock",
        }
    )
    assert config.port == 8080
    assert config.memory_mb == 512
    assert config.workers == 3
    assert config.constraints == ("node.role==worker", "node.labels.pool==fast")
    assert config.docker_host == "unix:///x.sock"


def test_flags_win_over_environment():
    config = from_env({"TOKEN": "env", "PORT": "8080"}, token="flag", port=7000, memory_mb=None)
    assert (config.token, config.port, config.memory_mb) == ("flag", 7000, 250)


@pytest.mark.parametrize(
    "env",
    [
        {},
        {"TOKEN": ""},
        {"TOKEN": "t", "PORT": "x"},
        {"TOKEN": "t", "PORT": "70000"},
        {"TOKEN": "t", "MEMORY": "0"},
        {"TOKEN": "t", "CONSTRAINTS": "node.role"},
    ],
)
def test_invalid_settings_are_refused(env):
    with pytest.raises(ConfigError):
        from_env(env)


def test_the_token_is_not_in_the_repr():
    assert "s3cret" not in repr(Config(token="s3cret"))
