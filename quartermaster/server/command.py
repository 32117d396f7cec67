"""The `quartermaster` command: flags over environment variables (process/command_line.py),
then gunicorn in-process."""

from quartermaster.process.command_line import config_of
from quartermaster.server.gunicorn_app import Server


def main(argv: list[str] | None = None) -> None:
    Server(config_of(argv)).run()


if __name__ == "__main__":
    main()
