"""What reaches a terminal of text qm did not write itself: a job's output, and what the server
sends (names, labels, errors). A terminal obeys control characters: ESC starts sequences that
set the window's title, write the clipboard (OSC 52), draw links (OSC 8) or rewrite what is
shown, and the C1 characters (U+0080-U+009F, e.g. CSI U+009B) do the same on many terminals.
So on a terminal they are taken out; a pipe or a file gets the bytes unchanged.

Kept: newline, tab and carriage return. A progress bar redrawn with \\r is common output, and
\\r changes nothing but where the cursor is on the current line: a job can print a line that
looks like qm's own with a newline anyway, so taking \\r out would protect nothing and garble
every progress bar. Backspace, which can rub out text already shown, is taken out.
"""

import codecs
import re
from collections.abc import Callable
from typing import TextIO

# C0 but \t \n \r, DEL, C1.
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def printable(text: str) -> str:
    """`text` without the control characters a terminal would act on."""
    return _CONTROL.sub("", text)


class TerminalOutput:
    """A job's output bytes made fit for a terminal: read as UTF-8 (bytes that are not are shown
    as U+FFFD, as a terminal would; a character cut between two writes is kept whole), without
    control characters."""

    def __init__(self) -> None:
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")

    def __call__(self, data: bytes) -> bytes:
        return printable(self._decoder.decode(data)).encode()


def output_writer(stream: TextIO, raw: bool, terminal: bool) -> Callable[[bytes], None]:
    """Writes a job's bytes to `stream` (its binary buffer) at once: unchanged when `raw` or
    not a `terminal`, otherwise through TerminalOutput."""
    clean = None if raw or not terminal else TerminalOutput()
    sink = stream.buffer

    def write(data: bytes) -> None:
        sink.write(data if clean is None else clean(data))
        sink.flush()

    return write
