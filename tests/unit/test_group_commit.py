"""Group commit (store/group_commit.py): the first records of concurrent /runs in one transaction,
each caller answered with its own outcome once its record is committed; with threads here, and
with gevent's greenlets in a patched process as the gunicorn workers run it (the last tests)."""

import json
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from quartermaster.jobs.errors import StoreRefused, StoreUnavailable
from quartermaster.store.connection import REFUSED, UNREACHABLE
from quartermaster.store.group_commit import GroupCommit
from support.settings import PROJECT_ROOT, fresh_store_url

TIMEOUT = 10


class BlockedWriter:
    """A `write` whose first call waits until released: the items submitted meanwhile queue up,
    and the next call writes them all. It answers each item by its own value (its square), and
    fails as `fail_with` says."""

    def __init__(self, fail_with=lambda items: None):
        self.batches: list[list[int]] = []
        self.first_call_started = threading.Event()
        self.release = threading.Event()
        self._fail_with = fail_with

    def __call__(self, items):
        self.batches.append(list(items))
        if len(self.batches) == 1:
            self.first_call_started.set()
            assert self.release.wait(TIMEOUT)
        error = self._fail_with(items)
        if error is not None:
            raise error
        return [item * item for item in items]


def submit_behind_a_write(commit: GroupCommit, writer: BlockedWriter, first, others):
    """`first` submitted and its write held, then `others` submitted from threads of their own
    (all of them waiting before the write is let go): each one's outcome or error, by item."""
    pool = ThreadPoolExecutor(1 + len(others))
    futures = {first: pool.submit(commit.submit, first)}
    assert writer.first_call_started.wait(TIMEOUT)
    futures.update((item, pool.submit(commit.submit, item)) for item in others)
    deadline = time.monotonic() + TIMEOUT
    while len(commit._waiting) < len(others):
        assert time.monotonic() < deadline, "the other callers never queued"
        time.sleep(0.001)
    writer.release.set()
    outcomes = {}
    for item, future in futures.items():
        error = future.exception(TIMEOUT)
        outcomes[item] = error if error is not None else future.result()
    pool.shutdown()
    return outcomes


def test_the_callers_arriving_during_a_write_are_written_together_next():
    writer = BlockedWriter()
    commit = GroupCommit(writer)
    outcomes = submit_behind_a_write(commit, writer, 1, [2, 3, 4, 5, 6, 7, 8])
    assert writer.batches[0] == [1]
    assert sorted(writer.batches[1]) == [2, 3, 4, 5, 6, 7, 8]
    assert len(writer.batches) == 2
    assert outcomes == {item: item * item for item in range(1, 9)}  # each its own


def test_a_lone_caller_is_written_at_once_and_the_next_one_too():
    writer = BlockedWriter()
    writer.release.set()
    commit = GroupCommit(writer)
    assert commit.submit(3) == 9
    assert commit.submit(4) == 16
    assert writer.batches == [[3], [4]]


def test_an_item_the_store_refuses_fails_its_caller_alone():
    def refuse_13(items):
        return StoreRefused(REFUSED) if 13 in items else None

    writer = BlockedWriter(fail_with=refuse_13)
    commit = GroupCommit(writer, alone_on=(StoreRefused,))
    outcomes = submit_behind_a_write(commit, writer, 1, [2, 13, 4])
    assert isinstance(outcomes[13], StoreRefused)
    assert str(outcomes[13]) == REFUSED
    assert {item: outcomes[item] for item in (1, 2, 4)} == {1: 1, 2: 4, 4: 16}
    assert sorted(writer.batches[1]) == [2, 4, 13]  # together first, then one at a time
    assert sorted(map(tuple, writer.batches[2:])) == [(2,), (4,), (13,)]


def test_a_store_out_of_reach_fails_every_caller_of_the_batch_with_its_error():
    def unreachable(items):
        return StoreUnavailable(UNREACHABLE) if len(items) > 1 else None

    writer = BlockedWriter(fail_with=unreachable)
    commit = GroupCommit(writer, alone_on=(StoreRefused,))
    outcomes = submit_behind_a_write(commit, writer, 1, [2, 3, 4])
    assert outcomes[1] == 1  # written alone, before
    for item in (2, 3, 4):
        assert type(outcomes[item]) is StoreUnavailable
        assert str(outcomes[item]) == UNREACHABLE
    assert len({id(outcomes[item]) for item in (2, 3, 4)}) == 3  # each caller's own
    assert len(writer.batches) == 2  # not tried again one at a time
    assert commit.submit(5) == 25  # and the next caller writes


def test_a_write_that_raises_leaves_no_caller_waiting_and_the_next_one_writes():
    calls = []

    def broken(items):
        calls.append(list(items))
        if len(calls) == 1:
            raise RuntimeError("boom")
        return [True for _ in items]

    commit = GroupCommit(broken)
    with pytest.raises(RuntimeError, match="boom"):
        commit.submit("a")
    assert commit.submit("b") is True


GEVENT_SCRIPT = """
from gevent import monkey; monkey.patch_all()
import json, sys, gevent
from quartermaster.store import RecordStore
from support.store_cases import NOW, a_status

store = RecordStore(sys.argv[1])
store.add(a_status("0" * 25), {}, 60, NOW)  # opened, migrated: the rest is the write alone
batches = []
real_write = store._first_records._write
store._first_records._write = lambda items: batches.append(len(items)) or real_write(items)
ids = [f"{index + 1:025d}" for index in range(40)]
greenlets = [gevent.spawn(store.add, a_status(job_id), {}, 60, NOW) for job_id in ids]
gevent.joinall(greenlets, timeout=20, raise_error=True)
answers = [greenlet.value for greenlet in greenlets]
recorded = [store.status(job_id).id == job_id for job_id in ids]
print(json.dumps({"batches": batches, "answers": answers, "recorded": recorded}))
"""


def test_greenlets_of_a_gevent_worker_adding_at_once_share_transactions():
    """As gunicorn's gevent workers run it: the greenlets that reach `add` while a write is
    under way are written in the next one, together."""
    outcome = run_with_gevent(GEVENT_SCRIPT, fresh_store_url())
    assert outcome["answers"] == [True] * 40
    assert outcome["recorded"] == [True] * 40
    assert sum(outcome["batches"]) == 40
    assert len(outcome["batches"]) < 10, outcome["batches"]  # 40 transactions before


GEVENT_KILL_SCRIPT = """
from gevent import monkey; monkey.patch_all()
import json, gevent
from quartermaster.store.group_commit import GroupCommit

batches = []

def write(items):
    batches.append(list(items))
    gevent.sleep(0.05)  # a write under way: the others queue behind it
    return [item * item for item in items]

commit = GroupCommit(write)
writer = gevent.spawn(commit.submit, 1)
gevent.sleep(0.01)
waiters = {item: gevent.spawn(commit.submit, item) for item in (2, 3, 4)}
gevent.sleep(0.01)
waiters[2].kill()  # the first in line, whose turn to write comes next
gevent.joinall([writer, waiters[3], waiters[4]], timeout=5)
late = gevent.spawn(commit.submit, 5)
late.join(timeout=5)
print(json.dumps({"values": [writer.value, waiters[3].value, waiters[4].value, late.value],
                  "batches": batches}))
"""


def test_a_waiting_greenlet_killed_leaves_the_others_their_turn():
    """A greenlet killed while it waits (its client gone, its worker stopping) is not the writer
    the others wait for: the next one in line writes."""
    outcome = run_with_gevent(GEVENT_KILL_SCRIPT)
    assert outcome["values"] == [1, 9, 16, 25]
    assert outcome["batches"] == [[1], [3, 4], [5]]


def run_with_gevent(script: str, *arguments: str) -> dict:
    """What `script` prints (JSON), run in a process gevent patched first, as a worker is."""
    done = subprocess.run(
        [sys.executable, "-c", script, *arguments],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=PROJECT_ROOT,
        env={"PYTHONPATH": f"{PROJECT_ROOT}:{PROJECT_ROOT / 'tests'}", "PATH": "/usr/bin:/bin"},
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)
