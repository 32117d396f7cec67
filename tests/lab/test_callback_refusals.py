"""Callbacks to internal addresses refused by a real server, and again at delivery. (The address
policy, and its refusals at /run: tests/unit/test_callback_addresses.py.)"""

import pytest

from quartermaster.reaper.reaper import Reaper
from support.lab import lab_config, reap_until, settle
from support.receivers import Receiver


def test_private_addresses_are_refused_again_at_delivery(lab, api):
    """A job accepted while private addresses were allowed (or whose name resolved elsewhere
    then) is not delivered by a reaper that does not allow them."""
    receiver = Receiver()
    try:
        job_id = api.run_ok(image=lab.image, command="true", ttl=0, callback_url=receiver.url)
        reaper = Reaper(lab_config(callback_allow_private=False, callback_retry_seconds=0))
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
    response = live_server.client().run(image=lab.image, callback_url=url)
    assert response.status_code == 400
    body = response.json()
    assert (body["success"], body["code"]) == (False, 400)
    assert body["fields"]["callback_url"] == [refusal]
