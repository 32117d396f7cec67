"""deploy/nginx-tls.conf is deploy/nginx.conf with TLS: the proxying itself is written in both
files, and kept the same here, so a change to one cannot miss the other."""

import re

from support.settings import PROJECT_ROOT

PLAIN = (PROJECT_ROOT / "deploy" / "nginx.conf").read_text()
TLS = (PROJECT_ROOT / "deploy" / "nginx-tls.conf").read_text()
SERVER = "    server {\n"
HSTS = '            add_header Strict-Transport-Security "max-age=63072000" always;\n'
LOCATIONS = [
    "        location / {",
    "        location @too_large {",
    "        location @unavailable {",
]


def servers(config: str) -> list[str]:
    return config.split(SERVER)[1:]


def settings_before_the_servers(config: str) -> str:
    """Everything before the first server block, but the comment just above it."""
    return re.sub(r"(\n    #[^\n]*)+\n$", "\n", config.split(SERVER)[0])


def block(text: str, opening: str) -> str:
    """The block that starts with the line `opening`, to its closing brace at the same indent."""
    indent = re.match(r" *", opening).group()
    start = text.index(opening + "\n")
    return text[start : text.index("\n" + indent + "}\n", start)]


def test_https_proxies_as_the_plain_config_does_with_hsts_on_every_answer():
    (plain,), (_, secure) = servers(PLAIN), servers(TLS)
    for opening in LOCATIONS:
        assert block(secure, opening).replace(HSTS, "") == block(plain, opening), opening
    # nginx gives a location with add_header of its own none of the server's: each repeats HSTS.
    assert secure.count(HSTS.strip()) == 1 + secure.count("add_header X-Request-ID")
    assert "        listen 443 ssl;\n" in secure
    assert "ssl_protocols TLSv1.2 TLSv1.3;" in secure


def test_the_tls_config_keeps_the_plain_ones_other_settings():
    plain, tls = settings_before_the_servers(PLAIN), settings_before_the_servers(TLS)
    assert tls.split("\nworker_processes")[1] == plain.split("\nworker_processes")[1]


def test_plain_http_only_redirects():
    plain_http, _ = servers(TLS)
    assert "        listen 80;\n" in plain_http
    assert "proxy_pass" not in plain_http
    assert 'add_header Location "https://$host$request_uri" always;' in plain_http
