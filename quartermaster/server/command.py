"""The `quartermaster` command: flags over environment variables, then gunicorn in-process."""

import argparse

from quartermaster.process import config as configuration
from quartermaster.server.gunicorn_app import Server

DESCRIPTION = """\
Run functions-as-a-service jobs on a Docker Swarm over a token-protected HTTP API.
Every flag has an environment variable; a flag wins over its variable.
Docker is reached like the docker CLI does: DOCKER_HOST, DOCKER_TLS_VERIFY, DOCKER_CERT_PATH.
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="quartermaster", description=DESCRIPTION)
    parser.add_argument(
        "--token",
        help="the shared token clients must send (env TOKEN, or a file named by env TOKEN_FILE); "
        "required",
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
        "--reaper-interval",
        type=float,
        help="seconds between reaper rounds; 0 runs no reaper in this instance "
        f"(env REAPER_INTERVAL, default {configuration.DEFAULT_REAPER_INTERVAL:g})",
    )
    parser.epilog = (
        "Callbacks: CALLBACK_SECRET signs them (HMAC-SHA256), CALLBACK_HOSTS (comma-separated "
        "hosts or host:ports) limits where they may go, CALLBACK_RETRY_SECONDS "
        f"(default {configuration.DEFAULT_CALLBACK_RETRY_SECONDS}) bounds their retries. They may "
        "not reach loopback, private, link-local, ... addresses unless CALLBACK_ALLOW_PRIVATE=1."
    )
    return parser


def main(argv: list[str] | None = None) -> None:
    parser = build_parser()
    args = parser.parse_args(argv)
    overrides = vars(args)
    if overrides["constraints"] is not None:
        overrides["constraints"] = tuple(overrides["constraints"])
    try:
        config = configuration.from_env(**overrides)
    except configuration.ConfigError as error:
        parser.error(str(error))  # exits with status 2
    Server(config).run()


if __name__ == "__main__":
    main()
