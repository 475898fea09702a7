"""The documentation holds together: every relative link and #section resolves, and every
`python -m bioner_pl.<command>` it shows is a command of ours."""

import importlib.util
import re
from pathlib import Path

import pytest

from helpers import ROOT

PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")), *sorted((ROOT / "results").glob("*.md")),
         *sorted((ROOT / "results").glob("*/README.md")), *sorted((ROOT / "tests" / "fixtures").glob("*/README.md"))]
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
COMMAND = re.compile(r"python -m (bioner_pl(?:\.\w+)+)")


def anchors(page: Path) -> set[str]:
    """GitHub's ids of a page's headings: lower case, punctuation dropped, spaces as hyphens."""
    headings = re.findall(r"^#+ (.+)$", page.read_text(encoding="utf-8"), flags=re.M)
    return {re.sub(r"[^\w\- ]", "", h.strip().lower()).replace(" ", "-") for h in headings}


def test_the_pages_are_there():
    names = {p.relative_to(ROOT).as_posix() for p in PAGES}
    assert {"README.md", "docs/design.md", "docs/tagging.md", "docs/training.md", "results/README.md"} <= names


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_every_relative_link_resolves(page):
    broken = []
    for target in LINK.findall(page.read_text(encoding="utf-8")):
        if re.match(r"^[a-z]+:", target):  # http(s), mailto: not checked offline
            continue
        path, _, anchor = target.partition("#")
        linked = (page.parent / path).resolve() if path else page
        if not linked.exists():
            broken.append(f"{target} (no such file)")
        elif anchor and linked.suffix == ".md" and anchor not in anchors(linked):
            broken.append(f"{target} (no such section)")
    assert not broken, f"{page.name}: {broken}"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_every_command_shown_is_ours(page):
    modules = set(COMMAND.findall(page.read_text(encoding="utf-8")))
    assert not {m for m in modules if importlib.util.find_spec(m) is None}


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_every_file_of_ours_it_names_is_there(page):
    """`bioner_pl/...`, `tests/...`, `results/...`, `sweeps/...` in backquotes: files and folders of
    the repository (patterns with <placeholders> or * are not paths)."""
    named = re.findall(r"`((?:bioner_pl|tests|results|sweeps|docs)/[^`\s]*)`", page.read_text(encoding="utf-8"))
    missing = [p for p in named if not re.search(r"[<*{]", p) and not (ROOT / p).exists()]
    assert not missing, f"{page.name}: {missing}"
