"""The document page in headless Chromium with a real worker: open it from the library, rename it,
read its passages with pages, download the original, ask about it, encode it again, delete it; a
failed document says why and what to do."""

from __future__ import annotations

from playwright.sync_api import FilePayload, Page, expect

from tests import docgen
from tests import test_dashboard_browser as dashboard
from tests.test_dashboard_browser import DONE_TIMEOUT_MS, grid_row, keep, sign_up

browser, page, base_url = dashboard.browser, dashboard.page, dashboard.base_url


def add(page: Page, name: str, content: bytes, mime: str) -> None:
    page.set_input_files("#file-input", files=[FilePayload(name=name, mimeType=mime, buffer=content)])


def test_a_ready_document_has_its_page_with_actions_and_passages(page: Page, worker, tmp_path) -> None:
    sign_up(page)
    content = docgen.pdf(pages=2, needle="Falcons nest on the bell tower.", needle_page=2)
    add(page, "report.pdf", content, "application/pdf")
    row = grid_row(page, "report.pdf")
    expect(row.locator(".badge")).to_have_text("ready", timeout=DONE_TIMEOUT_MS)
    row.get_by_role("link", name="Open report.pdf").click()

    expect(page.get_by_role("heading", name="report.pdf")).to_be_visible()
    expect(page.locator("#doc-facts dt:text-is('Pages') + dd")).to_have_text("2")
    expect(page.locator("#doc-technical")).to_be_hidden()  # folded away
    expect(page.locator("#passages-count")).to_contain_text("passages shown")
    expect(page.locator("#doc-passages .hint").first).to_have_text("Passage 1 · p. 1–2")

    with page.expect_download() as download:
        page.get_by_role("link", name="Download original").click()
    assert download.value.suggested_filename == "report.pdf"
    assert download.value.path().read_bytes() == content

    page.get_by_role("button", name="Rename").click()
    page.get_by_label("Title").fill("Bell tower survey")
    page.get_by_role("button", name="Save title").click()
    expect(page.get_by_role("heading", name="Bell tower survey")).to_be_visible()

    page.get_by_label("Your question about this document").fill("Where do falcons nest?")
    page.get_by_role("button", name="Ask", exact=True).click()
    expect(page.locator("#ask-doc-citations li").first).to_contain_text("report.pdf")
    keep(page, tmp_path, "document.png")

    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Encode again").click()
    expect(page.locator("#doc-badge")).to_have_text("ready", timeout=DONE_TIMEOUT_MS)
    expect(page.locator("#doc-passages li").first).to_be_visible()

    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Delete").click()
    expect(page.locator("#grid-status")).to_have_text("No documents yet. Drop a file above to get started.")


def test_a_failed_document_says_why_and_what_to_do(page: Page, worker) -> None:
    sign_up(page)
    add(page, "locked.pdf", docgen.pdf(encrypt="secret"), "application/pdf")
    row = grid_row(page, "locked.pdf")
    expect(row.locator(".badge")).to_have_text("failed", timeout=DONE_TIMEOUT_MS)
    row.get_by_role("link", name="Open locked.pdf").click()
    expect(page.get_by_role("alert")).to_contain_text("Remove the password, then upload the file again.")
    expect(page.get_by_role("button", name="Encode again")).to_be_visible()
    expect(page.get_by_role("region", name="Passages")).to_be_hidden()


def test_another_workspaces_document_is_not_found(page: Page) -> None:
    sign_up(page)
    page.goto("/documents/6f1c2a9e-0b5d-4a6e-9c3f-2d7b8e1a4c55")
    expect(page.locator("#doc-status")).to_have_text(
        "This document does not exist in this workspace (it may have been deleted)."
    )
