"""WCAG 2.2 AA on every dashboard page, checked by axe-core (from the axe-playwright-python package: no
network) in headless Chromium at a desktop and a phone width: no serious or critical violation."""

from __future__ import annotations

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, FilePayload, Page, expect

from tests import docgen
from tests import test_dashboard_browser as dashboard
from tests.test_dashboard_browser import open_page, sign_up

browser, base_url = dashboard.browser, dashboard.base_url
WIDTHS = [1280, 390]
RULES = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]}}
SERIOUS = {"serious", "critical"}
LOGGED_IN_PAGES = ["/", "/members", "/keys", "/webhooks", "/telegram", "/account", "/api/docs"]
PUBLIC_PAGES = ["/login", "/signup", "/invite/no-such-invitation-token", "/no-such-page"]


def problems(page: Page) -> list[str]:
    """The serious and critical violations on the page as it is now, one line per rule."""
    page.evaluate("Promise.all(document.getAnimations().map((a) => a.finished))")
    results = Axe().run(page, options={**RULES, "resultTypes": ["violations"]})
    return [
        f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']][:3]}"
        for v in results.response["violations"]
        if v["impact"] in SERIOUS
    ]


def visit(page: Page, path: str) -> None:
    page.goto(path)
    page.wait_for_load_state("networkidle")


@pytest.mark.parametrize("width", WIDTHS)
def test_every_page_has_no_serious_accessibility_violation(
    browser: Browser, base_url: str, width: int
) -> None:
    found: dict[str, list[str]] = {}
    page = open_page(browser, base_url, width=width, height=900)
    try:
        for path in PUBLIC_PAGES:
            visit(page, path)
            found[path] = problems(page)
        sign_up(page)
        found["/ (empty library)"] = problems(page)
        notes = FilePayload(name="notes.txt", mimeType="text/plain", buffer=docgen.txt())
        page.set_input_files("#file-input", files=[notes])
        expect(dashboard.grid_row(page, "notes.txt")).to_be_visible()
        for path in LOGGED_IN_PAGES:
            visit(page, path)
            found[path] = problems(page)
        page.goto("/")
        page.get_by_role("link", name="Open notes.txt").click()
        expect(page.locator("#doc-facts")).to_contain_text("notes.txt")
        found["/documents/<id>"] = problems(page)
    finally:
        page.context.close()
    assert not {path: lines for path, lines in found.items() if lines}


def test_the_check_finds_what_it_should(browser: Browser, base_url: str) -> None:
    """An unlabeled field and grey-on-white text are reported: the check is not silently empty."""
    page = open_page(browser, base_url)
    try:
        visit(page, "/login")
        page.evaluate(  # styles set from script: the page's policy ignores inline style attributes
            """() => {
              document.body.append(document.createElement("input"));
              const faint = Object.assign(document.createElement("p"), { textContent: "faint words" });
              faint.style.color = "#bbb";
              document.body.append(faint);
            }"""
        )
        ids = {line.split(" ")[0] for line in problems(page)}
        assert {"label", "color-contrast"} <= ids
    finally:
        page.context.close()
