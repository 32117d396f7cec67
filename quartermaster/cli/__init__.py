"""The `qm` command: run jobs on a quartermaster server and watch them, like `docker run`.

It imports only the client (quartermaster.client), click and rich: a laptop installs it without
the server's dependencies. Importing the package registers every command on `qm` (command.py).
"""

from quartermaster.cli.command import main  # `qm` scripts installed as quartermaster.cli:main

__all__ = ["main"]
