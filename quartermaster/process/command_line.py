"""The `quartermaster` command's line: its flags (each over its environment variable), read
into one `Config`. Apart from the entry point (server/command.py), which imports the server, so
that it is read, and tested, without starting one."""

import argparse
import sys
import textwrap

from quartermaster.process import config as configuration

DESCRIPTION = """\
Run functions-as-a-service jobs on a Docker Swarm over a token-protected HTTP API.
Every flag has an environment variable; a flag wins over its variable.
Docker is reached like the docker CLI does: DOCKER_HOST, DOCKER_TLS_VERIFY, DOCKER_CERT_PATH.
"""
EXAMPLE = """\
Example:
  python3 -c 'import secrets; print(secrets.token_urlsafe(32))' > token && chmod 600 token
  TOKEN_FILE=token quartermaster --port 9090
"""
FLAG_SEEN_IN_PS_WARNING = (
    "quartermaster: warning: --token puts the token on the command line, where other users see "
    "it (ps, /proc/PID/cmdline, a container's args) and shells keep it (history): prefer "
    "--token-file or TOKEN_FILE"
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="quartermaster",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--token-file",
        help="a file holding the shared token clients must send (env TOKEN_FILE, or the token "
        f"itself in env TOKEN); required, at least {configuration.MIN_TOKEN_CHARS} characters",
    )
    parser.add_argument(
        "--token",
        help="the token itself: visible to other users in ps, so prefer --token-file "
        "(kept for scripts that pass it)",
    )
    parser.add_argument(
        "--port", type=int, help=f"port (env PORT, default {configuration.DEFAULT_PORT})"
    )
    parser.add_argument(
        "--bind", help=f"address to listen on (env BIND, default {configuration.DEFAULT_BIND})"
    )
    parser.add_argument(
        "--memory",
        type=int,
        dest="memory_mb",
        help="default memory limit and reservation of a job, in MB "
        f"(env MEMORY, default {configuration.DEFAULT_MEMORY_MB})",
    )
    parser.add_argument(
        "--workers",
        type=int,
        help=f"gunicorn worker processes (env WORKERS, default {configuration.DEFAULT_WORKERS})",
    )
    parser.add_argument(
        "--worker-connections",
        type=int,
        help="concurrent requests per worker (env WORKER_CONNECTIONS, "
        f"default {configuration.DEFAULT_WORKER_CONNECTIONS})",
    )
    parser.add_argument(
        "--max-long-requests",
        type=int,
        help="long requests (/status?wait, /logs?follow) at once per worker, beyond which they "
        "are answered 429; below --worker-connections (env MAX_LONG_REQUESTS, default half of "
        "the worker connections)",
    )
    parser.add_argument(
        "--follow-max-seconds",
        type=float,
        help="the longest a followed log (/logs?follow=true) lasts "
        f"(env FOLLOW_MAX_SECONDS, default {configuration.DEFAULT_FOLLOW_MAX_SECONDS:g})",
    )
    parser.add_argument(
        "--constraint",
        action="append",
        dest="constraints",
        metavar="CONSTRAINT",
        help="placement constraint for every job, repeatable (env CONSTRAINTS, comma-separated; "
        f"default {','.join(configuration.DEFAULT_CONSTRAINTS)})",
    )
    parser.add_argument(
        "--docker-timeout",
        type=float,
        help="seconds to wait for a Docker API answer "
        f"(env DOCKER_TIMEOUT, default {configuration.DEFAULT_DOCKER_TIMEOUT:g})",
    )
    parser.add_argument(
        "--history-ttl",
        "--ttl",
        dest="ttl",
        type=int,
        help="seconds a finished job's record (status, timeline, log) is kept, unless /run sets "
        f"ttl (env HISTORY_TTL, or TTL; default {configuration.DEFAULT_TTL}, a week)",
    )
    parser.add_argument(
        "--max-ttl",
        type=int,
        help="the largest ttl a /run may ask for, in seconds; a larger one is refused "
        "(env MAX_TTL, default the history ttl)",
    )
    parser.add_argument(
        "--keep-finished",
        type=int,
        help="seconds a finished job's swarm service is kept once its record is written "
        f"(env KEEP_FINISHED, default {configuration.DEFAULT_KEEP_FINISHED})",
    )
    parser.add_argument(
        "--deployment",
        help="this deployment's name, when several share one swarm: it sees and reaps only the "
        "jobs it made (env DEPLOYMENT, default none)",
    )
    parser.add_argument(
        "--reaper-interval",
        type=float,
        help="seconds between reaper rounds; 0 runs no reaper in this instance "
        f"(env REAPER_INTERVAL, default {configuration.DEFAULT_REAPER_INTERVAL:g})",
    )
    callbacks = (
        "Callbacks: CALLBACK_SECRET signs them (HMAC-SHA256), CALLBACK_HOSTS (comma-separated "
        "hosts or host:ports) limits where they may go, CALLBACK_RETRY_SECONDS "
        f"(default {configuration.DEFAULT_CALLBACK_RETRY_SECONDS}) bounds their retries. They may "
        "not reach loopback, private, link-local, ... addresses unless CALLBACK_ALLOW_PRIVATE=1."
    )
    parser.epilog = EXAMPLE + "\n" + textwrap.fill(callbacks, 79)  # the example as written
    return parser


def config_of(argv: list[str] | None = None) -> configuration.Config:
    """The settings the command line and the environment give; a setting refused ends the
    command (status 2) with the reason. A token on the command line is warned about."""
    parser = build_parser()
    overrides = vars(parser.parse_args(argv))
    token_file = overrides.pop("token_file")
    if overrides["constraints"] is not None:
        overrides["constraints"] = tuple(overrides["constraints"])
    if overrides["token"] is not None:
        print(FLAG_SEEN_IN_PS_WARNING, file=sys.stderr)
    try:
        if token_file is not None and overrides["token"] is None:
            overrides["token"] = configuration.read_secret(token_file, "--token-file")
        return configuration.from_env(**overrides)
    except configuration.ConfigError as error:
        parser.error(str(error))  # exits with status 2
