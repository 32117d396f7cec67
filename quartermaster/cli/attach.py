"""`qm run` attached: say why the job waits, stream its output as it prints, and end with it.

The job's stdout and stderr are followed separately (one thread each) and written to qm's own
stdout and stderr as bytes, a line at a time, flushed: to a pipe unchanged (output that is not
UTF-8 passes through untouched), to a terminal without control characters unless `raw` (see
terminal.py). The main thread long-polls the job's status, shows why it is pending, and takes
Ctrl-C: the first stops the job (and qm waits for it to end), a second leaves it running. SIGTERM
and SIGHUP, where run.py takes them as Ctrl-C (signals.py), stop the job as a first Ctrl-C does.
"""

import contextlib
import os
import sys
import threading
import time
from collections.abc import Callable
from typing import NamedTuple, NoReturn, TextIO

from quartermaster.cli.output import is_terminal, warn
from quartermaster.cli.signals import Signalled, exit_status_of, signal_of
from quartermaster.cli.terminal import output_writer, printable
from quartermaster.client import Client, Job, QuartermasterError

QUIET_PENDING_SECONDS = 3  # a job pending without a reason for less is not worth a line
# What a pending job without a reason from swarm is waiting for, by its swarm state.
WAITING_IN_STATE = {
    "new": "waiting to be placed",
    "pending": "waiting to be placed",
    "assigned": "placed, waiting for its node",
    "accepted": "placed, waiting for its node",
    "preparing": "preparing (pulling the image)",
    "ready": "about to start",
    "starting": "starting",
}
PENDING_POLL_SECONDS = 2  # a pending job's reason is looked at again this often
RUNNING_POLL_SECONDS = 30  # a long poll: answered at once when the job ends
STOP_GRACE_SECONDS = 2.0  # after the first Ctrl-C, for a second one to leave the job running
STOP_WAIT_SECONDS = 60  # for a job Ctrl-C stopped to end
OUTPUT_END_SECONDS = 30  # for the output of an ended job to finish arriving


class PendingLine:
    """Why the job waits (queued for its tenant's quota, or pending on the swarm), on stderr:
    one line updated in place on a terminal, otherwise a line each time the reason changes."""

    def __init__(self, stream: TextIO):
        self.stream = stream
        self.in_place = stream.isatty()
        self.shown: str | None = None
        self.lock = threading.Lock()

    def show(self, reason: str, seconds: float, word: str = "pending") -> None:
        with self.lock:
            if self.in_place:
                self.stream.write(f"\r\x1b[Kqm: {word} {seconds:.0f}s: {printable(reason)}")
            elif reason != self.shown:
                self.stream.write(f"qm: {word} ({seconds:.0f}s): {printable(reason)}\n")
            self.stream.flush()
            self.shown = reason

    def clear(self) -> None:
        with self.lock:
            if self.in_place and self.shown is not None:
                self.stream.write("\r\x1b[K")
                self.stream.flush()
            self.shown = None


class Follower(threading.Thread):
    """Copies one of the job's streams to one of ours as it arrives."""

    def __init__(self, make_client: Callable[[], Client], job_id: str, stream: str,
                 write: Callable[[bytes], None], pending: PendingLine):  # fmt: skip
        super().__init__(daemon=True, name=f"follow-{stream}")
        self.make_client, self.job_id, self.stream = make_client, job_id, stream
        self.write, self.pending = write, pending

    def run(self) -> None:
        try:
            with self.make_client() as client:
                for line in client.log_bytes(self.job_id, follow=True, stream=self.stream):
                    self.pending.clear()
                    self.write(line)
        except QuartermasterError as error:
            warn(f"the job's {self.stream} could not be followed: {error}")


class Ended(NamedTuple):
    job: Job  # as it ended (or as it stood, if a stop took too long)
    interrupt: KeyboardInterrupt | None  # what stopped it: Ctrl-C, or a Signalled


def attach(
    make_client: Callable[[], Client],
    job_id: str,
    show_output: bool = True,
    raw: bool = False,
    stop_on_signal: bool = True,
) -> Ended:
    """Wait for the job to end, its output streamed (unless not `show_output`; to a terminal
    with its control characters unless `raw`). Ctrl-C (or a Signalled): see `stop_on_interrupt`;
    unless `stop_on_signal`, qm exits at once and leaves the job running."""
    pending = PendingLine(sys.stderr)
    followers = []
    if show_output:
        for name, ours in (("stdout", sys.stdout), ("stderr", sys.stderr)):
            write = output_writer(ours, raw, is_terminal(ours))
            followers.append(Follower(make_client, job_id, name, write, pending))
    for follower in followers:
        follower.start()
    with make_client() as client:
        try:
            ended = Ended(wait_for_end(client, job_id, pending), interrupt=None)
        except KeyboardInterrupt as interrupt:
            pending.clear()
            if not stop_on_signal:
                leave(job_id, f"{signal_of(interrupt).name}: left running", interrupt)
            ended = Ended(stop_on_interrupt(client, job_id, interrupt), interrupt)
    try:
        for follower in followers:
            follower.join(OUTPUT_END_SECONDS)
    except KeyboardInterrupt as interrupt:
        leave(job_id, "not waiting for its last output", ended.interrupt or interrupt)
    return ended


def wait_for_end(client: Client, job_id: str, pending: PendingLine) -> Job:
    started = time.monotonic()
    job = client.status(job_id)
    while not job.is_final:
        waited = time.monotonic() - started
        if job.status == "queued":
            pending.show(queued_reason(job), waited, "queued")
        elif job.status == "pending" and (job.error or waited >= QUIET_PENDING_SECONDS):
            pending.show(job.error or WAITING_IN_STATE.get(job.state, job.state), waited)
        elif job.status != "pending":
            pending.clear()
        waiting = job.status in ("queued", "pending")
        wait = PENDING_POLL_SECONDS if waiting else RUNNING_POLL_SECONDS
        job = client.status(job_id, wait=wait)
    pending.clear()
    return job


def queued_reason(job: Job) -> str:
    """E.g. `position 3 (tenant team-a: memory quota 4096 MB, 4096 MB in use)`."""
    place = "position unknown" if job.queue_position is None else f"position {job.queue_position}"
    return f"{place} ({job.error})" if job.error else place


def stop_on_interrupt(client: Client, job_id: str, first: KeyboardInterrupt) -> Job:
    """The first Ctrl-C (or SIGTERM, SIGHUP): stop the job and wait for it to end (its output
    still streamed); qm then exits 128 + the first signal's number (130 for Ctrl-C). The stop is
    sent after STOP_GRACE_SECONDS: a Ctrl-C before that leaves the job running (a stop once sent
    cannot be taken back), a SIGTERM or SIGHUP sends it at once (neither asks to leave the job);
    any signal after exits at once."""
    try:
        # Said inside the try: a second Ctrl-C may come as soon as the line is out, before
        # warn returns, and must still leave the job running and say so.
        if isinstance(first, Signalled):
            warn(f"stopping {job_id}… ({signal_of(first).name}; Ctrl-C to leave it running)")
        else:
            warn(f"stopping {job_id}… (Ctrl-C again to leave it running)")
        time.sleep(STOP_GRACE_SECONDS)
    except Signalled:
        pass
    except KeyboardInterrupt:
        leave(job_id, "left running", first)
    try:
        client.stop(job_id)
        return client.wait(job_id, timeout=STOP_WAIT_SECONDS)
    except KeyboardInterrupt:
        leave(job_id, "its stop was sent; not waiting for it", first)


def leave(job_id: str, why: str, interrupt: KeyboardInterrupt) -> NoReturn:
    """Exit at once (the followers' threads may be blocked in a read), the job left as it is,
    with the status of the signal that interrupted qm first."""
    warn(f"{why}: {job_id}")
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError):  # a closed terminal or pipe: nothing left to say there
            stream.flush()
    os._exit(exit_status_of(interrupt))
