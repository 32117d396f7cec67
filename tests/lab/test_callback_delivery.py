"""Callback deliveries are bounded whatever receivers do: in time, in memory, and in how much one
receiver can hold up the others. Receivers here are raw sockets on loopback that misbehave."""

import threading
import time

import pytest

from quartermaster.reaper import callbacks
from quartermaster.reaper.reaper import SLOTS_PER_RECEIVER, Reaper
from quartermaster.reaper.supervisor import start_process, stop_process
from support.lab import lab_config, wait_until
from support.receivers import MisbehavingReceiver, Receiver


@pytest.fixture
def receivers(running_reaper):
    """Receivers of the modes asked; closed before the reaper's deliveries are waited for (hence
    the dependency: a fixture is torn down before those it depends on)."""
    made = []

    def make(mode):
        made.append(Receiver() if mode == "fast" else MisbehavingReceiver(mode))
        return made[-1]

    yield make
    for receiver in made:
        receiver.close()


@pytest.fixture
def running_reaper():
    """A reaper in this process, its rounds in a thread; stopped (deliveries ended) after."""
    stop = threading.Event()
    started = []

    def start(**settings):
        started.append(Reaper(lab_config(reaper_interval=0.5, **settings)))
        threading.Thread(target=started[-1].run_forever, args=(stop,), daemon=True).start()
        return started[-1]

    yield start
    stop.set()
    for each in started:
        each.close()


@pytest.mark.parametrize("mode", ["trickle", "silent"])
def test_a_delivery_ends_at_its_deadline_whatever_the_receiver_does(
    lab, api, running_reaper, receivers, mode
):
    receiver = receivers(mode)
    api.run_ok(image=lab.image, command="true", callback_url=receiver.url)
    running_reaper()
    wait_until(lambda: receiver.connections, 60, "the callback never came")
    [first, *_] = receiver.connections
    deadline = callbacks.DEADLINE_SECONDS
    wait_until(lambda: first["closed_at"], deadline + 10, "the delivery outlived its deadline")
    held = first["closed_at"] - first["accepted_at"]
    assert deadline - 1 < held < deadline + 3


def test_trickling_receivers_do_not_delay_a_fast_one(lab, api, running_reaper, receivers):
    tricklers = [receivers("trickle") for _ in range(8)]
    jobs = [
        api.run_ok(image=lab.image, command="true", callback_url=trickler.url)
        for trickler in tricklers
        for _ in range(3)
    ]
    for job_id in jobs:
        api.wait_for(job_id, "complete")
    running_reaper()
    # The tricklers hold deliveries of the reaper (at least as many as the 8 it ran at once
    # before): the fast one comes now.
    wait_until(
        lambda: sum(trickler.open_connections() for trickler in tricklers) >= 8,
        30,
        "the reaper never delivered to the tricklers",
    )
    fast = receivers("fast")
    fast_job = api.run_ok(image=lab.image, command="true", callback_url=fast.url)
    api.wait_for(fast_job, "complete")
    finished = time.monotonic()
    wait_until(lambda: fast.calls, 30, "the fast receiver never got its callback")
    assert time.monotonic() - finished < 5
    assert [document["id"] for document in fast.documents()] == [fast_job]
    # Meanwhile each trickler holds at most its share of the reaper's slots, and no longer than
    # a delivery's deadline.
    time.sleep(callbacks.DEADLINE_SECONDS + 3)
    for trickler in tricklers:
        assert trickler.most_open_at_once() <= SLOTS_PER_RECEIVER
        for connection in trickler.connections:
            end = connection["closed_at"] or time.monotonic()
            assert end - connection["accepted_at"] < callbacks.DEADLINE_SECONDS + 3


def test_a_flood_of_an_answer_is_not_read(lab, api, receivers):
    """A receiver answering 512 MB: the real reaper process reads its status line and closes; its
    memory stays where it was."""
    flood = receivers("flood")
    job_id = api.run_ok(image=lab.image, command="true", callback_url=flood.url)
    api.wait_for(job_id, "complete")
    process = start_process(lab_config(reaper_interval=0.5))
    try:
        wait_until(lambda: flood.connections, 60, "the callback never came")
        [connection] = flood.connections
        wait_until(lambda: connection["closed_at"], 30, "the reaper kept reading")
        peak_kib = _peak_rss_kib(process.pid)
    finally:
        stop_process(process)
    # What the kernel's socket buffers took before the reaper closed, not the 512 MB offered.
    assert connection["sent"] < 64 * 1024 * 1024
    assert peak_kib < 150 * 1024  # a reaper is about 50 MB; the old one grew by the whole body


def _peak_rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    raise AssertionError("no VmHWM")
