"""The `qm` command's exit status: for `qm run`, the job's own, as `docker run` gives it."""

import re

from quartermaster.client import Job

COMPLETE = 0
CLIENT_ERROR = 1  # the server unreachable, or an error answer to a command other than `run`
USAGE = 2  # click's own: a command line it cannot parse
TIMED_OUT = 124  # the job ran past its `timeout` (as timeout(1) exits)
REFUSED = 125  # the server refused the request, or the job was rejected (as docker run)
NO_EXIT_CODE = 126  # the job ended with no exit code: lost, stopped by someone, its node gone
HUNG_UP = 129  # SIGHUP (128 + 1): the terminal closed
INTERRUPTED = 130  # Ctrl-C (128 + SIGINT)
TERMINATED = 143  # SIGTERM (128 + 15): timeout(1), a cancelled CI job, kill

HELP = """\b
Exit status of `qm run` (attached):
  0    the job completed
  N    the job failed with its exit code N
  124  the job ran past its --timeout
  125  the server refused the request, or the job was rejected (reason on stderr)
  126  the job ended without an exit code (stopped by someone else, lost, its node down)
  130  Ctrl-C: the job was stopped (twice: left running)
  143  SIGTERM (timeout, kill, a cancelled CI job): the job was stopped
  129  SIGHUP (the terminal closed): the job was stopped
       (130, 143, 129 with --no-stop-on-signal: the job was left running)
  1    the server unreachable, or another error (message on stderr)
  2    a command line qm cannot parse"""

_TIMED_OUT = re.compile(r"timed out after \d+s\Z")


def exit_code_of(job: Job) -> int:
    """The exit status `qm run` ends with for a job in a final state."""
    if job.status == "complete":
        return COMPLETE
    if job.status == "rejected":
        return REFUSED
    if job.status == "failed" and _TIMED_OUT.match(job.error or ""):
        return TIMED_OUT
    if job.status == "failed" and job.exit_code:
        return job.exit_code
    return NO_EXIT_CODE
