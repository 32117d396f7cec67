"""The `qm` group (app.py) with every command module's commands on it: each adds its commands to
`qm` as it is imported. The entry point (command.py) runs this group; tests drive it."""

from quartermaster.cli import jobs, nodes, run, templates, tenants
from quartermaster.cli.app import qm

COMMAND_MODULES = (run, jobs, nodes, tenants, templates)

__all__ = ["COMMAND_MODULES", "qm"]
