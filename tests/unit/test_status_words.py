"""A job's status is one of seven words (jobs/status.py). The client, `qm` and the dashboard name
them on their own side (the client and qm may not import the server's package, the dashboard is
JavaScript): these tests fail when one of them drifts from jobs/status.py."""

import ast
import re
from pathlib import Path

import click

from quartermaster import client as client_package
from quartermaster.cli.all_commands import qm
from quartermaster.jobs.status import FINAL_STATUSES, STATUSES
from quartermaster.web.ui.pages import FILES
from support.settings import PROJECT_ROOT

API_JS = (FILES / "api.js").read_text()


def js_strings(name: str) -> list[str]:
    """The strings of api.js's `export const NAME = ...;`, in their order."""
    [declaration] = re.findall(rf"export const {name} = ([^;]*);", API_JS)
    return re.findall(r'"([^"]*)"', declaration)


def test_the_client_names_the_servers_statuses():
    assert client_package.STATUSES == STATUSES
    assert client_package.FINAL_STATUSES == FINAL_STATUSES


def test_qm_jobs_offers_each_status_to_filter_by():
    [option] = [param for param in qm.commands["jobs"].params if param.name == "statuses"]
    assert isinstance(option.type, click.Choice)
    assert tuple(option.type.choices) == STATUSES


def test_the_dashboard_names_the_servers_statuses():
    assert js_strings("STATUSES") == list(STATUSES)
    assert set(js_strings("FINAL_STATUSES")) == FINAL_STATUSES
    assert len(js_strings("FINAL_STATUSES")) == len(FINAL_STATUSES)


def test_the_dashboard_gives_each_status_its_badge_colour():
    """dom.js's statusBadge: class status-<word>; a word without a rule shows uncoloured."""
    style = (FILES / "style.css").read_text()
    assert [status for status in STATUSES if f".status-{status}" not in style] == []


def status_words_compared_in(path: Path) -> set[str]:
    """The strings a module compares a `.status` with (`job.status == "complete"`)."""
    words = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Compare):
            sides = [node.left, *node.comparators]
            if any(isinstance(side, ast.Attribute) and side.attr == "status" for side in sides):
                words |= {
                    side.value
                    for side in sides
                    if isinstance(side, ast.Constant) and isinstance(side.value, str)
                }
    return words


def test_the_client_and_qm_compare_a_status_only_with_the_servers_words():
    modules = [
        *(PROJECT_ROOT / "quartermaster" / "client").glob("*.py"),
        *(PROJECT_ROOT / "quartermaster" / "cli").glob("*.py"),
    ]
    compared = set().union(*(status_words_compared_in(path) for path in modules))
    assert {"complete", "rejected", "failed", "pending"} <= compared  # the check finds them
    assert compared - set(STATUSES) == set()
