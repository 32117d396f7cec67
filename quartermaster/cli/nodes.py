"""`qm nodes` and `qm health`: the swarm's capacity, and whether the server is well."""

import click

from quartermaster.cli import exit_codes
from quartermaster.cli.app import Connection, json_option, qm
from quartermaster.cli.output import bar, echo, is_terminal, print_json, print_table
from quartermaster.client import Node


@qm.command()
@json_option
@click.pass_obj
def nodes(connection: Connection, as_json: bool) -> None:
    """Every node: its memory and CPUs, what jobs reserve of them, and its running jobs."""
    with connection.client() as client:
        found = client.nodes()
    if as_json:
        print_json([node.document for node in found])
        return
    print_table(
        ["hostname", "role", "state", "memory reserved", "cpus reserved", "jobs"],
        [node_row(node, is_terminal()) for node in found],
    )


def node_row(node: Node, terminal: bool = False) -> list[str]:
    memory = f"{node.reserved_memory_mb}/{node.memory_mb} MB"
    cpus = f"{node.reserved_cpus:g}/{node.cpus:g}"
    return [
        node.hostname,
        node.role,
        node.state if node.availability == "active" else f"{node.state}, {node.availability}",
        f"{bar(node.reserved_memory_mb, node.memory_mb, terminal)} {memory}",
        f"{bar(node.reserved_cpus, node.cpus, terminal)} {cpus}",
        str(node.running_jobs),
    ]


@qm.command()
@json_option
@click.pass_obj
def health(connection: Connection, as_json: bool) -> None:
    """Whether the server is well (/healthz); exit status 1 when it is not."""
    with connection.client() as client:
        report = client.health()
    if as_json:
        print_json(report)
    else:
        echo(health_text(report))
    if not report.get("success"):
        raise SystemExit(exit_codes.CLIENT_ERROR)


def health_text(report: dict) -> str:
    if not report.get("success"):
        return f"unhealthy: {report.get('error')}"
    swarm = report.get("swarm") or {}
    reaper = report.get("reaper") or {}
    parts = [
        f"docker {report.get('docker')}",
        f"{swarm.get('managers')} manager(s), "
        f"{swarm.get('ready_workers')}/{swarm.get('workers')} workers ready",
        f"reaper {reaper.get('state')}",
    ]
    return "healthy: " + "; ".join(parts)
