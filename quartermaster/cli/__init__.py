"""The `qm` command: run jobs on a quartermaster server and watch them, like `docker run`.

It imports only the client (quartermaster.client), click and rich (the `cli` extra:
`pip install 'quartermaster[cli]'`), never the server's dependencies. `all_commands.py` is the
group with every command on it; `command.py` the entry point, which says what to install when
click or rich is missing.
"""

from quartermaster.cli.command import main  # `qm` scripts installed as quartermaster.cli:main

__all__ = ["main"]
