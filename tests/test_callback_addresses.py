"""Callbacks may not reach this host or its networks (SSRF), unless the operator opts in.

A callback_url whose host is, or resolves to, a loopback, link-local, private, unique-local,
multicast, reserved or unspecified address is refused at /run, and again at delivery.
"""

import pytest
import requests
from conftest import TOKEN, make_config
from test_reaper import Receiver, reap_until, settle

from quartermaster.jobs.callback_addresses import not_public
from quartermaster.reaper.reaper import Reaper
from quartermaster.web.app import create_app

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
def guarded_client(docker_client):
    """An app with the default: no callbacks to private addresses."""
    return create_app(make_config(callback_allow_private=False)).test_client()


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


def test_the_operator_may_allow_private_addresses(lab, client):
    # `client` is the tests' app: CALLBACK_ALLOW_PRIVATE on (see make_config).
    response = run(client, "http://127.0.0.1:2375/x")
    assert response.status_code == 200, response.get_json()


def test_private_addresses_are_refused_again_at_delivery(lab, api):
    """A job accepted while private addresses were allowed (or whose name resolved elsewhere
    then) is not delivered by a reaper that does not allow them."""
    receiver = Receiver()
    try:
        job_id = api.run_ok(image=lab.image, command="true", ttl=0, callback_url=receiver.url)
        reaper = Reaper(make_config(callback_allow_private=False, callback_retry_seconds=0))
        reap_until([reaper], lambda: api.status(job_id).status_code == 404)
        settle([reaper])
        assert receiver.calls == []  # given up without a connection
    finally:
        receiver.close()


@pytest.mark.parametrize(
    "url,refusal",
    [
        ("http://169.254.169.254/latest/meta-data/", "169.254.169.254, a link-local address"),
        # A name: resolved in a gevent worker, cooperatively.
        ("http://localhost:2375/x", "localhost resolves to 127.0.0.1, a loopback address"),
    ],
)
def test_a_live_server_refuses_internal_callbacks_by_default(lab, live_server, url, refusal):
    response = requests.post(
        f"{live_server.url}/run",
        json={"image": lab.image, "callback_url": url},
        headers={"Authorization": f"Bearer {TOKEN}"},
        timeout=10,
    )
    assert response.status_code == 400
    body = response.json()
    assert (body["success"], body["code"]) == (False, 400)
    assert body["fields"]["callback_url"] == [refusal]


@pytest.mark.parametrize("entry", ["host:99999", "host/path", "user@host", ":8080"])
def test_invalid_callback_hosts_are_refused_at_start(entry):
    with pytest.raises(ValueError, match="CALLBACK_HOSTS"):
        make_config(callback_hosts=(entry,))
