"""The documentation fits the code: a short README whose links resolve, and an architecture page that
lists every module (a new module needs a row)."""

from __future__ import annotations

import re

from tests.deploy import ROOT

README_MAX_BYTES = 12 * 1024
ENTRY_POINTS = ("api_server.py", "tasks.py", "celery_config.py", "gunicorn.conf.py")


def _modules() -> set[str]:
    found = {*ENTRY_POINTS}
    for package in ("socrate", "bot"):
        for path in (ROOT / package).rglob("*.py"):
            rel = path.relative_to(ROOT).as_posix()
            if "/migrations/versions/" not in rel:
                found.add(rel)
    return found


def test_the_readme_is_short() -> None:
    assert len((ROOT / "README.md").read_bytes()) <= README_MAX_BYTES


def test_every_module_has_a_row_in_the_architecture_page() -> None:
    page = (ROOT / "docs" / "architecture.md").read_text()
    listed = set(re.findall(r"^\| `([^`]+\.py)` \|", page, flags=re.MULTILINE))
    assert not _modules() - listed, f"add rows for {sorted(_modules() - listed)} to docs/architecture.md"
    assert not listed - _modules(), f"remove rows for {sorted(listed - _modules())} from docs/architecture.md"


def test_relative_links_and_anchors_resolve() -> None:
    pages = [ROOT / "README.md", *(ROOT / "docs").glob("*.md"), ROOT / "bench" / "README.md"]
    for page in pages:
        for target in re.findall(r"\]\(([^)\s]+)\)", page.read_text()):
            if target.startswith(("http://", "https://", "mailto:")):
                continue
            file, _, anchor = target.partition("#")
            linked = (page.parent / file).resolve() if file else page
            assert linked.exists(), f"{page.relative_to(ROOT)} links to missing {target}"
            if anchor and linked.suffix == ".md":
                headings = re.findall(r"^#+ (.+)$", linked.read_text(), flags=re.MULTILINE)
                slugs = {re.sub(r"[^\w\- ]", "", h.lower()).replace(" ", "-") for h in headings}
                assert anchor in slugs, f"{page.relative_to(ROOT)} links to missing anchor {target}"
