"""The tutorial pages: linked from the index in order, short, runnable, with working links.

The pages' numbers themselves are checked by pytest's doctest run over ``docs/*.md``.
"""

import re
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[1] / "docs"
PAGES = sorted(DOCS.glob("[0-9][0-9]_*.md"))
LINK = re.compile(r"\]\(([^)#\s]+)\)")


def test_numbered_pages_start_with_the_first_nine_and_are_linked_in_order():
    numbers = [int(p.name[:2]) for p in PAGES]
    assert numbers[:9] == list(range(1, 10)) and numbers == sorted(set(numbers))
    index = (DOCS / "index.md").read_text()
    positions = [index.index(f"]({page.name})") for page in PAGES]
    assert positions == sorted(positions)
    assert "](scanning_mlp.md)" in index and "](decompositions.md)" in index


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_page_is_short_and_runs_code(page):
    text = page.read_text()
    assert len(text.splitlines()) <= 210
    assert text.count("\n>>> ") >= 3
    assert text.startswith(f"# {int(page.name[:2])}. ")


@pytest.mark.parametrize("page", [*PAGES, DOCS / "index.md"], ids=lambda p: p.name)
def test_relative_links_resolve(page):
    for target in LINK.findall(page.read_text()):
        if "://" not in target:
            assert (page.parent / target).exists(), f"{page.name} links to missing {target}"
