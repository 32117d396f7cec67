"""The `quartermaster` command: flags over environment variables, then gunicorn in-process."""

import argparse
import sys

from . import config as configuration
from .server import Server

DESCRIPTION = """\
Run functions-as-a-service jobs on a Docker Swarm over a token-protected HTTP API.
Every flag has an environment variable; a flag wins over its variable.
Docker is reached like the docker CLI does: DOCKER_HOST, DOCKER_TLS_VERIFY, DOCKER_CERT_PATH.
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="quartermaster", description=DESCRIPTION)
    parser.add_argument("--token", help="the shared token clients must send (env TOKEN); required")
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
        "--threads",
        type=int,
        help=f"threads per worker (env THREADS, default {configuration.DEFAULT_THREADS})",
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
    return parser


def main(argv=None) -> None:
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
    sys.exit(main())
