"""The README and docs/ hold together on a code host: every relative link reaches a file of the
repository, every anchor a heading of its page (as GitHub spells anchors), and docs/architecture.md
names every package of quartermaster/.
"""

import re
from collections import Counter
from pathlib import Path
from urllib.parse import unquote

import pytest

from support.settings import PROJECT_ROOT

PAGES = [PROJECT_ROOT / "README.md", *sorted((PROJECT_ROOT / "docs").glob("*.md"))]
ARCHITECTURE = PROJECT_ROOT / "docs" / "architecture.md"

FENCE = re.compile(r"^\s*(```|~~~)")
HEADING = re.compile(r"^ {0,3}(#{1,6})\s+(.*?)\s*#*\s*$")
CODE_SPAN = re.compile(r"`[^`]*`")
# [text](target) and ![alt](target); a target may be followed by a "title".
INLINE_LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*<?([^)\s>]*)>?(?:\s+\"[^\"]*\")?\s*\)")
REFERENCE_DEFINITION = re.compile(r"^ {0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s+\"[^\"]*\")?\s*$")


def prose_lines(text: str) -> list[str]:
    """The lines outside fenced code blocks, where markdown is markdown."""
    lines, fenced = [], False
    for line in text.splitlines():
        if FENCE.match(line):
            fenced = not fenced
        elif not fenced:
            lines.append(line)
    return lines


def slug(heading: str) -> str:
    """GitHub's anchor of a heading: its rendered text lowercased, punctuation removed (but `-`
    and `_`), each space a hyphen."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link: its text
    text = re.sub(r"<[^>]+>", "", text)  # inline HTML
    text = text.replace("`", "").replace("*", "")
    text = re.sub(r"[^\w\- ]", "", text.lower())
    return text.replace(" ", "-")


def anchors(text: str) -> set[str]:
    """Every heading's anchor; a repeated one gets -1, -2, ... as on GitHub."""
    seen: Counter[str] = Counter()
    found = set()
    for line in prose_lines(text):
        match = HEADING.match(line)
        if not match:
            continue
        base = slug(match.group(2))
        anchor = base if seen[base] == 0 else f"{base}-{seen[base]}"
        seen[base] += 1
        found.add(anchor)
    return found


def link_targets(text: str) -> list[str]:
    """The targets of the page's links, outside code blocks and code spans."""
    targets = []
    for line in prose_lines(text):
        definition = REFERENCE_DEFINITION.match(line)
        if definition:
            targets.append(definition.group(1))
            continue
        targets += INLINE_LINK.findall(CODE_SPAN.sub("", line))
    return targets


def is_external(target: str) -> bool:
    return re.match(r"^[a-z][a-z0-9+.-]*:", target, re.IGNORECASE) is not None


def broken_links(page: Path, root: Path = PROJECT_ROOT) -> list[str]:
    """The page's relative links whose file (inside `root`) or anchor is not there."""
    broken = []
    for target in link_targets(page.read_text()):
        if is_external(target):
            continue
        path_part, _, anchor = target.partition("#")
        destination = (page.parent / unquote(path_part)).resolve() if path_part else page
        if not destination.is_relative_to(root) or not destination.exists():
            broken.append(f"{target}: no such file")
        elif anchor and destination.suffix != ".md":
            broken.append(f"{target}: an anchor into a file that is not markdown")
        elif anchor and unquote(anchor) not in anchors(destination.read_text()):
            broken.append(f"{target}: no heading with that anchor in {destination.name}")
    return broken


def test_the_slugger_spells_anchors_as_github_does():
    assert slug("History: the record store") == "history-the-record-store"
    assert slug("GET /status/:id") == "get-statusid"
    assert slug("Retrying safely: `Idempotency-Key`") == "retrying-safely-idempotency-key"
    assert slug("Running it: the original's two ways") == "running-it-the-originals-two-ways"
    assert slug("The `quartermaster` command") == "the-quartermaster-command"
    assert slug("snake_case and [a link](x.md)") == "snake_case-and-a-link"
    assert anchors("# Logs\n## Logs\n```\n# not a heading\n```\n### Logs\n") == {
        "logs",
        "logs-1",
        "logs-2",
    }


def test_broken_links_are_found(tmp_path):
    """The check itself: a missing file, a missing anchor, a link out of the repository and a
    link in code are told apart."""
    (tmp_path / "docs").mkdir()
    (tmp_path / "deploy").mkdir()
    (tmp_path / "deploy" / "stack.yml").write_text("")
    (tmp_path / "docs" / "api.md").write_text("# API\n## The token\n")
    page = tmp_path / "docs" / "page.md"
    page.write_text(
        "# Here\n[ok](#here) [gone](#nowhere) [file](../deploy/stack.yml) "
        "[missing](../deploy/none.yml) `[code](#nowhere)` [web](https://example.com/#x)\n"
        "[there](api.md#the-token) [not there](api.md#no-such-heading) [out](../../etc)\n"
        "```\n[fenced](#nowhere)\n```\n[defined]: api.md#api\n"
    )
    assert broken_links(page, root=tmp_path) == [
        "#nowhere: no heading with that anchor in page.md",
        "../deploy/none.yml: no such file",
        "api.md#no-such-heading: no heading with that anchor in api.md",
        "../../etc: no such file",
    ]


@pytest.mark.parametrize("page", PAGES, ids=lambda page: page.relative_to(PROJECT_ROOT).as_posix())
def test_every_relative_link_and_anchor_resolves(page):
    assert broken_links(page) == []


def test_the_docs_have_pages():
    names = {page.name for page in PAGES}
    assert {"README.md", "api.md", "architecture.md", "deployment.md", "testing.md"} <= names


def packages() -> list[str]:
    """Every package of quartermaster/ (a directory with an __init__.py), as a dotted name."""
    package_root = PROJECT_ROOT / "quartermaster"
    return sorted(
        ".".join(init.parent.relative_to(PROJECT_ROOT).parts)
        for init in package_root.rglob("__init__.py")
    )


def test_architecture_names_every_package():
    text = ARCHITECTURE.read_text()
    assert "quartermaster.store.migrations.versions" in packages()
    unnamed = [package for package in packages() if f"`{package}`" not in text]
    assert unnamed == []
