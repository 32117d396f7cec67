"""What /logs asks for."""

from dataclasses import dataclass


@dataclass(frozen=True)
class LogOptions:
    follow: bool = False
    tail: int | None = None  # None: every line
    since: float | None = None  # UNIX time
    timestamps: bool = False
    stdout: bool = True
    stderr: bool = True
