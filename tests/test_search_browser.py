"""The dashboard's Ask box in headless Chromium, over real HTTP with a real worker behind it (no model:
the answer is the best passage's own sentences; tests/test_ask_browser.py has the streamed one)."""

from __future__ import annotations

import re
import time

from playwright.sync_api import FilePayload, Page, expect

from tests import docgen
from tests import test_dashboard_browser as dashboard
from tests.test_dashboard_browser import DONE_TIMEOUT_MS, sign_up

base_url, browser, page = dashboard.base_url, dashboard.browser, dashboard.page  # the same fixtures

# Words no other test uses: marking skips words common in the shared database (planner statistics).
NEEDLE = "The secret hatch word for the lunar aviary is <em>PELICAN-42</em>."
QUESTION = "What is the hatch word of the lunar aviary?"


def upload_and_wait(page: Page, name: str, content: bytes) -> None:
    """Upload through the API with the page's session, then wait for the worker to finish it."""
    token = page.locator('meta[name="csrf-token"]').get_attribute("content")
    assert token is not None
    file: FilePayload = {"name": name, "mimeType": "text/plain", "buffer": content}
    response = page.request.post(
        "/api/documents/upload", headers={"X-CSRF-Token": token}, multipart={"file": file}
    )
    assert response.status == 202, response.text()
    doc_id = response.json()["document_id"]
    deadline = time.monotonic() + DONE_TIMEOUT_MS / 1000
    while page.request.get(f"/api/documents/{doc_id}/status").json()["status"] != "ready":
        assert time.monotonic() < deadline, f"{name} did not become ready"
        time.sleep(0.2)


def ask_for(page: Page, question: str) -> None:
    page.get_by_role("searchbox", name="Ask your documents").fill(question)
    page.get_by_role("button", name="Ask", exact=True).click()


def test_ask_box_answers_with_a_cited_passage_and_shows_the_passages_on_demand(
    page, worker, tmp_path
) -> None:
    sign_up(page)
    status = page.locator("#search-status")
    ask_for(page, "hatch word")
    expect(status).to_have_text("No ready documents to search yet")

    upload_and_wait(page, "orbit.txt", docgen.txt("en", count=3, needle=NEEDLE))
    upload_and_wait(page, "appunti.txt", docgen.txt("it", count=2))
    ask_for(page, QUESTION)
    expect(status).to_have_text(re.compile(r"^The best of \d+ passages? \(\d+ ms\)\.$"))
    answer = page.locator("#answer-text")
    expect(answer).to_contain_text("<em>PELICAN-42</em>")  # document text is shown, never parsed as HTML
    expect(page.locator("#answer em")).to_have_count(0)
    page.get_by_role("button", name="Source 1: orbit.txt").click()
    citation = page.locator("#citation")
    expect(citation.locator("#citation-source")).to_have_text("orbit.txt")
    expect(citation.locator("#citation-text")).to_contain_text("PELICAN-42")
    citation.get_by_role("button", name="Close").click()

    page.get_by_text("Show passages").click()
    expect(page.locator("#passages-status")).to_have_text(
        re.compile(r"^\d+ passages? in \d+ documents? \(\d+ ms\)\.$")
    )
    first = page.locator(".search-doc").first
    expect(first.get_by_role("heading")).to_have_text("orbit.txt")
    snippet = first.locator(".snippet").first
    expect(snippet).to_contain_text("<em>PELICAN-42</em>")
    expect(page.locator("#search-results em")).to_have_count(0)
    expect(snippet.locator("mark").first).to_have_text(re.compile("hatch|word|lunar|aviary", re.I))
    expect(first.locator(".meta").first).to_have_text(re.compile(r"^orbit\.txt · score 0\.\d\d$"))
    page.screenshot(path=tmp_path / "ask.png", full_page=True)

    first.get_by_role("link", name="Open orbit.txt").click()
    expect(page.locator("#doc-facts")).to_contain_text("orbit.txt")
    page.go_back()

    ask_for(page, "zebra xylophone quartz")
    expect(status).to_have_text("Nothing found for this query")
    expect(page.locator("#answer")).to_be_visible()
    expect(answer).to_have_text("I could not find this in your documents.")
    expect(page.locator(".search-doc")).to_have_count(0)
