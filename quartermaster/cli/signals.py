"""SIGTERM and SIGHUP taken as Ctrl-C is, while `qm run` is attached.

`timeout 60 qm run …`, a cancelled CI pipeline (SIGTERM) or a closed terminal (SIGHUP) would
otherwise end qm at once and leave its job running on the swarm. Python turns SIGINT into
KeyboardInterrupt in the main thread; these two are turned into `Signalled`, a KeyboardInterrupt,
so that every place that handles Ctrl-C handles them too, and qm exits 128 + the signal's number
(as a shell reports a command the signal ended).
"""

import signal
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

from quartermaster.cli import exit_codes

TAKEN_AS_CTRL_C = (signal.SIGTERM, signal.SIGHUP)


class Signalled(KeyboardInterrupt):
    """SIGTERM or SIGHUP, raised where Ctrl-C raises KeyboardInterrupt."""

    def __init__(self, number: int):
        super().__init__(signal.Signals(number).name)
        self.number = number


def signal_of(interrupt: KeyboardInterrupt) -> signal.Signals:
    """The signal that interrupted qm: Signalled's, or SIGINT (Ctrl-C)."""
    if isinstance(interrupt, Signalled):
        return signal.Signals(interrupt.number)
    return signal.SIGINT


EXIT_STATUS = {
    signal.SIGINT: exit_codes.INTERRUPTED,
    signal.SIGTERM: exit_codes.TERMINATED,
    signal.SIGHUP: exit_codes.HUNG_UP,
}


def exit_status_of(interrupt: KeyboardInterrupt) -> int:
    """128 + the signal's number: 130 for Ctrl-C, 143 for SIGTERM, 129 for SIGHUP."""
    return EXIT_STATUS[signal_of(interrupt)]


def _raise_signalled(number: int, frame: FrameType | None) -> None:
    raise Signalled(number)


@contextmanager
def taken_as_ctrl_c() -> Iterator[None]:
    """Within: SIGTERM and SIGHUP raise Signalled in the main thread. A signal qm was started
    with ignored (`nohup qm run …` ignores SIGHUP) stays ignored, as Python leaves an ignored
    SIGINT. The handlers before are restored after."""
    before = {number: signal.getsignal(number) for number in TAKEN_AS_CTRL_C}
    for number, handler in before.items():
        if handler is not signal.SIG_IGN:
            signal.signal(number, _raise_signalled)
    try:
        yield
    finally:
        for number, handler in before.items():
            signal.signal(number, signal.SIG_DFL if handler is None else handler)
