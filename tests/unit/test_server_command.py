"""The `quartermaster` command's line: where the token comes from, what is said about one given
on the command line, and a short one refused. No server is started."""

import pytest

from quartermaster.process.command_line import build_parser, config_of

TOKEN = "a-server-command-token"


@pytest.fixture(autouse=True)
def no_token_in_the_environment(monkeypatch):
    monkeypatch.delenv("TOKEN", raising=False)
    monkeypatch.delenv("TOKEN_FILE", raising=False)


def test_a_token_on_the_command_line_is_taken_with_a_warning(capsys):
    assert config_of(["--token", TOKEN]).token == TOKEN
    warning = capsys.readouterr().err
    assert "warning: --token puts the token on the command line" in warning
    assert "prefer --token-file or TOKEN_FILE" in warning and TOKEN not in warning


def test_a_token_file_flag_is_read_without_a_warning(capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("TOKEN", "the-environments-token")
    secret = tmp_path / "token"
    secret.write_text(TOKEN + "\n")
    assert config_of(["--token-file", str(secret)]).token == TOKEN  # the flag wins
    assert capsys.readouterr().err == ""
    both = config_of(["--token-file", str(secret), "--token", "the-flags-own-token"])
    assert both.token == "the-flags-own-token"  # and the file is not read


def test_an_unreadable_token_file_flag_exits_2_naming_the_flag(capsys, tmp_path):
    with pytest.raises(SystemExit) as ended:
        config_of(["--token-file", str(tmp_path / "missing")])
    assert ended.value.code == 2
    assert "--token-file" in capsys.readouterr().err


@pytest.mark.parametrize("where", ["env", "flag", "file"])
def test_a_short_token_exits_2_with_a_clear_message(capsys, monkeypatch, tmp_path, where):
    secret = tmp_path / "token"
    secret.write_text("changeme\n")
    monkeypatch.setenv("TOKEN", "changeme")
    argv = {"env": [], "flag": ["--token", "changeme"], "file": ["--token-file", str(secret)]}
    with pytest.raises(SystemExit) as ended:
        config_of(argv[where])
    assert ended.value.code == 2
    message = capsys.readouterr().err
    assert "the token must be at least 16 characters, got 8" in message
    assert "secrets.token_urlsafe" in message  # how to make one
    assert "changeme" not in message


def test_no_token_names_the_file_first(capsys):
    with pytest.raises(SystemExit):
        config_of([])
    assert "no token: set TOKEN_FILE" in capsys.readouterr().err


def test_the_help_shows_a_token_file_not_a_token_in_its_example():
    text = build_parser().format_help()
    assert "--token-file" in text
    example = text[text.index("Example:") :]
    assert "TOKEN_FILE=" in example and "--token " not in example
