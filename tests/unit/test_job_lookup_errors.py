"""A job that vanishes from the swarm is a `JobNotFound`, which is no `SwarmError` (the store
raises it too): the swarm's side still treats it as the expected end it is, not as a failure."""

import logging

import pytest

from quartermaster.jobs.errors import AmbiguousReference, JobNotFound
from quartermaster.swarm.job_watch import JobWatches


@pytest.mark.parametrize("cls", [JobNotFound, AmbiguousReference])
def test_a_watched_job_that_vanishes_ends_the_watch_quietly_with_a_copy_for_each_waiter(
    cls, caplog
):
    vanished = cls("no such job")

    def read_status(service_id):
        raise vanished

    caplog.set_level(logging.ERROR, logger="quartermaster.swarm.job_watch")
    with JobWatches(read_status).watching("abc") as watch:
        assert watch.ended.wait(5)
        with pytest.raises(cls) as raised:
            watch.latest()
    assert raised.value is not vanished  # a copy: one object raised by many gathers tracebacks
    assert str(raised.value) == "no such job"
    assert caplog.records == []  # an expected end, not "polling job ... failed"
