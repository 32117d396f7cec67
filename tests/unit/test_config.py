"""Settings from the environment and flags: pure logic, no Docker."""

import pytest

from quartermaster.process.config import Config, ConfigError, from_env

TOKEN = "a-config-test-token"  # 19 characters: the server starts with 16 or more


def test_defaults():
    config = from_env({"TOKEN": TOKEN})
    assert (config.port, config.memory_mb) == (9090, 250)
    assert config.constraints == ("node.role==worker",)
    assert config.bind_address == "0.0.0.0:9090"


def test_environment_is_read():
    config = from_env(
        {
            "TOKEN": TOKEN,
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
    config = from_env(
        {"TOKEN": "from-the-environment", "PORT": "8080"},
        token="from-the-flag-0123",
        port=7000,
        memory_mb=None,
    )
    assert (config.token, config.port, config.memory_mb) == ("from-the-flag-0123", 7000, 250)


@pytest.mark.parametrize(
    "env",
    [
        {},
        {"TOKEN": ""},
        {"TOKEN": TOKEN, "PORT": "x"},
        {"TOKEN": TOKEN, "PORT": "70000"},
        {"TOKEN": TOKEN, "MEMORY": "0"},
        {"TOKEN": TOKEN, "CONSTRAINTS": "node.role"},
        {"TOKEN": TOKEN, "MAX_LONG_REQUESTS": "1000"},  # as many as the worker's connections
        {"TOKEN": TOKEN, "WORKER_CONNECTIONS": "10", "MAX_LONG_REQUESTS": "12"},
        {"TOKEN": TOKEN, "MAX_LONG_REQUESTS": "-1"},
        {"TOKEN": TOKEN, "FOLLOW_MAX_SECONDS": "0"},
        {"TOKEN": TOKEN, "MAX_TTL": "x"},
        {"TOKEN": TOKEN, "MAX_TTL": "-1", "HISTORY_TTL": "0"},
        {"TOKEN": TOKEN, "MAX_TTL": "3600"},  # below the default history ttl, a week
        {"TOKEN": TOKEN, "HISTORY_TTL": "7200", "MAX_TTL": "3600"},
    ],
)
def test_invalid_settings_are_refused(env):
    with pytest.raises(ConfigError):
        from_env(env)


def test_long_requests_default_to_half_the_worker_connections():
    assert from_env({"TOKEN": TOKEN}).long_request_limit == 500
    assert from_env({"TOKEN": TOKEN, "WORKER_CONNECTIONS": "11"}).long_request_limit == 5
    assert from_env({"TOKEN": TOKEN, "MAX_LONG_REQUESTS": "0"}).long_request_limit == 0
    assert (
        from_env({"TOKEN": TOKEN, "MAX_LONG_REQUESTS": "7"}, max_long_requests=3).long_request_limit
        == 3
    )
    assert from_env({"TOKEN": TOKEN}).follow_max_seconds == 3600
    assert from_env({"TOKEN": TOKEN, "FOLLOW_MAX_SECONDS": "90"}).follow_max_seconds == 90


def test_the_token_is_not_in_the_repr():
    assert "s3cret-0123456789" not in repr(Config(token="s3cret-0123456789"))


def test_the_token_can_come_from_a_file(tmp_path):
    secret = tmp_path / "token"
    secret.write_text("from-the-file-0123\n")
    config = from_env({"TOKEN_FILE": str(secret)})
    assert config.token == "from-the-file-0123"
    # Only the trailing newline goes: other whitespace is part of the token.
    secret.write_text(" a b 0123456789ab\r\n")
    assert from_env({"TOKEN_FILE": str(secret)}).token == " a b 0123456789ab"


def test_token_wins_over_token_file_and_the_flag_wins_over_both(tmp_path):
    secret = tmp_path / "token"
    secret.write_text("from-the-file-0123")
    env, flag = "from-the-environment", "from-the-flag-0123"
    assert from_env({"TOKEN": env, "TOKEN_FILE": str(secret)}).token == env
    assert from_env({"TOKEN_FILE": str(secret)}, token=flag).token == flag
    # A flag means the file is never read, so a bad TOKEN_FILE does not matter then.
    assert from_env({"TOKEN_FILE": str(tmp_path / "missing")}, token=flag).token == flag
    assert from_env({"TOKEN": env, "TOKEN_FILE": str(tmp_path / "missing")}).token == env


def test_an_unreadable_token_file_is_a_clear_error(tmp_path):
    missing = tmp_path / "missing"
    with pytest.raises(ConfigError, match=r"TOKEN_FILE .*missing.* cannot be read"):
        from_env({"TOKEN_FILE": str(missing)})
    with pytest.raises(ConfigError, match=r"TOKEN_FILE .* cannot be read"):
        from_env({"TOKEN_FILE": str(tmp_path)})  # a directory
    binary = tmp_path / "binary"
    binary.write_bytes(b"\xff\xfe-s3cret")
    with pytest.raises(ConfigError, match=r"TOKEN_FILE .* cannot be read") as error:
        from_env({"TOKEN_FILE": str(binary)})
    assert "s3cret" not in str(error.value)


def test_an_empty_token_file_is_refused(tmp_path):
    empty = tmp_path / "empty"
    empty.write_text("\n")
    with pytest.raises(ConfigError, match=r"TOKEN_FILE .* is empty"):
        from_env({"TOKEN_FILE": str(empty)})


def test_the_store_is_sqlite_in_data_dir_unless_database_url_names_one(tmp_path):
    config = from_env({"TOKEN": TOKEN, "DATA_DIR": str(tmp_path / "data")})
    assert config.store_url == f"sqlite:///{tmp_path}/data/quartermaster.db"
    url = "postgresql://qm:pw@db:5432/quartermaster"
    config = from_env({"TOKEN": TOKEN, "DATABASE_URL": url})
    assert config.store_url == "postgresql+psycopg://qm:pw@db:5432/quartermaster"
    assert "pw" not in repr(config)


def test_database_url_may_come_from_a_file_and_is_never_echoed(tmp_path):
    secret = tmp_path / "database_url"
    secret.write_text("postgresql://qm:s3cret@db/quartermaster\n")
    config = from_env({"TOKEN": TOKEN, "DATABASE_URL_FILE": str(secret)})
    assert config.store_url == "postgresql+psycopg://qm:s3cret@db/quartermaster"
    with pytest.raises(ConfigError, match="DATABASE_URL must be"):
        from_env({"TOKEN": TOKEN, "DATABASE_URL": "mysql://qm:s3cret@db/x"})
    try:
        from_env({"TOKEN": TOKEN, "DATABASE_URL": "mysql://qm:s3cret@db/x"})
    except ConfigError as error:
        assert "s3cret" not in str(error)
    empty = tmp_path / "empty"
    empty.write_text("")
    with pytest.raises(ConfigError, match=r"DATABASE_URL_FILE .* is empty"):
        from_env({"TOKEN": TOKEN, "DATABASE_URL_FILE": str(empty)})


def test_log_keep_bytes_and_keep_env_values(tmp_path):
    config = from_env({"TOKEN": TOKEN, "LOG_KEEP_BYTES": "4096", "KEEP_ENV_VALUES": "1"})
    assert (config.log_keep_bytes, config.keep_env_values) == (4096, True)
    assert (
        from_env({"TOKEN": TOKEN}).log_keep_bytes,
        from_env({"TOKEN": TOKEN}).keep_env_values,
    ) == (
        1024 * 1024,
        False,
    )
    with pytest.raises(ConfigError, match="LOG_KEEP_BYTES"):
        from_env({"TOKEN": TOKEN, "LOG_KEEP_BYTES": "-1"})


@pytest.mark.parametrize("token", ["qm", "changeme", "fifteen-chars-x"])
def test_a_token_shorter_than_16_characters_is_refused_naming_its_length_only(token, tmp_path):
    with pytest.raises(ConfigError, match="at least 16 characters, got") as refused:
        from_env({"TOKEN": token})
    assert token not in str(refused.value)
    secret = tmp_path / "token"
    secret.write_text(token + "\n")
    with pytest.raises(ConfigError, match="at least 16 characters"):
        from_env({"TOKEN_FILE": str(secret)})
    with pytest.raises(ConfigError, match="at least 16 characters"):
        from_env({}, token=token)
    assert from_env({"TOKEN": "sixteen-chars-xy"}).token == "sixteen-chars-xy"


def test_the_largest_ttl_a_run_may_ask_is_max_ttl_else_the_history_ttl():
    assert from_env({"TOKEN": TOKEN}).ttl_limit == 7 * 24 * 3600
    assert from_env({"TOKEN": TOKEN, "HISTORY_TTL": "60"}).ttl_limit == 60
    assert from_env({"TOKEN": TOKEN, "HISTORY_TTL": "60", "MAX_TTL": "86400"}).ttl_limit == 86400
    assert from_env({"TOKEN": TOKEN, "MAX_TTL": "86400"}, ttl=60, max_ttl=None).ttl_limit == 86400
    assert from_env({"TOKEN": TOKEN}, ttl=60, max_ttl=120).ttl_limit == 120
