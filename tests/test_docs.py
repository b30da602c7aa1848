"""The README and docs/: short enough to read, CI running the README's test command, links that lead somewhere."""

import re

import pytest

from .conftest import ROOT

PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces as hyphens."""
    text = re.sub(r"[`*_]", "", heading.strip().lower())
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def test_the_readme_is_a_first_page():
    assert len((ROOT / "README.md").read_text().splitlines()) <= 250


def test_ci_runs_the_readmes_test_command_exactly():
    readme = (ROOT / "README.md").read_text()
    ci = [line for line in (ROOT / ".ci" / "run").read_text().splitlines() if line.startswith("python ")]
    assert len(ci) == 1 and "pytest" in ci[0]
    assert f"```bash\n{ci[0]}\n```" in readme


@pytest.mark.parametrize("page", PAGES, ids=lambda path: path.name)
def test_links_lead_to_pages_and_headings_that_exist(page):
    for target in re.findall(r"\]\(([^)\s]+)\)", page.read_text()):
        if re.match(r"[a-z]+:", target):  # a web address
            continue
        path, _, anchor = target.partition("#")
        linked = (page.parent / path).resolve() if path else page
        assert linked.exists(), f"{page.name}: {target}"
        if anchor and linked.suffix == ".md":
            headings = re.findall(r"^#+ (.+)$", linked.read_text(), flags=re.MULTILINE)
            assert anchor in {slug(heading) for heading in headings}, f"{page.name}: {target}"
