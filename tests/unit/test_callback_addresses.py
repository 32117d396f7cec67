"""Callbacks may not reach this host or its networks (SSRF), unless the operator opts in.

A callback_url whose host is, or resolves to, a loopback, link-local, private, unique-local,
multicast, reserved or unspecified address is refused at /run, and again at delivery (there, and
by a real server: tests/lab/test_callback_refusals.py).
"""

import hashlib
import socket

import pytest

from quartermaster.compose import compose_app
from quartermaster.jobs.callback_addresses import (
    CallbackRefused,
    check_addresses,
    not_public,
    parse_target,
    printable_url,
)
from support.fake_runtime import FakeRuntime
from support.settings import TOKEN, make_config

INTERNAL_URLS = [
    "http://169.254.169.254/latest/meta-data/",  # a cloud's metadata service
    "http://127.0.0.1:2375/containers/json",  # a Docker API on loopback
    "http://2130706433/",  # 127.0.0.1 as one number
    "http://localhost:9090/run",  # a name that resolves to loopback
    "http://[::1]:8080/",
    "http://[::ffff:7f00:1]/",  # 127.0.0.1, IPv4-mapped in IPv6
    "http://[::ffff:a00:1]/",  # 10.0.0.1, mapped
    "http://10.77.0.1/",
    "http://172.16.0.1/",
    "http://192.168.1.1/",
    "http://100.64.0.1/",  # shared address space (carrier NAT)
    "http://0.0.0.0:9090/",
    "http://[::]/",
    "http://[fd00::1]/",  # unique-local
    "http://[fe80::1]/",  # link-local
    "http://[fec0::1]/",  # site-local
    "http://224.0.0.1/",  # multicast
    "http://[ff02::1]/",
    "http://240.0.0.1/",  # reserved
    "https://255.255.255.255/",
]


@pytest.fixture
def guarded_client():
    """An app with the default: no callbacks to private addresses."""
    config = make_config(callback_allow_private=False)
    return compose_app(config, FakeRuntime(config)).test_client()


def run(client, callback_url):
    body = {"token": TOKEN, "image": "qm/busybox:latest", "callback_url": callback_url}
    return client.post("/run", json=body)


@pytest.mark.parametrize("url", INTERNAL_URLS)
def test_a_callback_to_an_internal_address_is_refused_at_run(guarded_client, url):
    response = run(guarded_client, url)
    assert response.status_code == 400, response.get_json()
    [message] = response.get_json()["fields"]["callback_url"]
    assert "address" in message


def test_the_refusal_names_the_address_a_name_resolves_to(guarded_client):
    response = run(guarded_client, "http://localhost:2375/x")
    assert response.get_json()["fields"]["callback_url"] == [
        "localhost resolves to 127.0.0.1, a loopback address"
    ]


@pytest.mark.parametrize("address", ["93.184.216.34", "2606:4700:4700::1111", "::ffff:8.8.8.8"])
def test_public_addresses_are_allowed(address):
    assert not_public(address) is None


def test_the_operator_may_allow_private_addresses(client):
    # `client` is the tests' app: CALLBACK_ALLOW_PRIVATE on (see make_config).
    response = run(client, "http://127.0.0.1:2375/x")
    assert response.status_code == 200, response.get_json()


@pytest.mark.parametrize("entry", ["host:99999", "host/path", "user@host", ":8080"])
def test_invalid_callback_hosts_are_refused_at_start(entry):
    with pytest.raises(ValueError, match="CALLBACK_HOSTS"):
        make_config(callback_hosts=(entry,))


def digest_of(url):
    return hashlib.sha256(url.encode()).hexdigest()[:16]


@pytest.mark.parametrize(
    "url,origin",
    [
        (
            "https://hooks.slack.com/services/T0AAA/B0BBB/s3cretPathPart",
            "https://hooks.slack.com:443",
        ),
        ("https://discord.com/api/webhooks/123/s3cretPathPart", "https://discord.com:443"),
        ("http://Receiver.example:8080/hook?sig=s3cretPathPart", "http://receiver.example:8080"),
        ("http://user:s3cretPathPart@10.0.0.1/", "http://10.0.0.1:80"),
        ("http://[fe80::1]:8080/s3cretPathPart", "http://[fe80::1]:8080"),
        ("ftp://s3cretPathPart/", "(not an http or https URL)"),
    ],
)
def test_what_is_shown_of_a_callback_url_is_its_origin_and_a_hash(url, origin):
    """A webhook's secret lives in its path (Slack, Discord), its query or its credentials: none
    of them is shown, only scheme://host:port and a hash the URL's holder can compare."""
    shown = printable_url(url)
    assert shown == f"{origin}/...#sha256:{digest_of(url)}"
    assert "s3cretPathPart" not in shown


def test_one_internal_address_among_a_hosts_addresses_refuses_them_all():
    # The policy, without a lookup: a name resolving to a public and a private address would
    # otherwise reach the private one on some attempts.
    target = parse_target("https://hooks.example.com/x")
    public = (socket.AF_INET, ("93.184.216.34", 443))
    private = (socket.AF_INET, ("10.77.0.1", 443))
    check_addresses(target, [public])
    with pytest.raises(
        CallbackRefused, match=r"hooks.example.com resolves to 10.77.0.1, a private"
    ):
        check_addresses(target, [public, private])
