"""The dashboard in headless Chromium over real HTTP, with a real Celery worker behind it."""

from __future__ import annotations

import os
import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from playwright.sync_api import Browser, FilePayload, Page, expect, sync_playwright
from werkzeug.serving import make_server

from tests import docgen
from tests.conftest import TenantHandle, upload
from tests.web_session import PASSWORD, unique_email

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]  # fmt: skip
DONE_TIMEOUT_MS = 240_000
GREEN, RED = "rgb(23, 112, 61)", "rgb(192, 57, 43)"
STEP_TIMEOUT_MS = 30_000  # one page step; generous because the worker may be busy on the 2 cores
expect.set_options(timeout=STEP_TIMEOUT_MS)

# Every value each upload row's bar shows, recorded in the page as it happens (not sampled).
RECORD_PROGRESS = """
window.__progress = {};
new MutationObserver((records) => {
  for (const r of records) {
    if (r.attributeName !== "aria-valuenow") continue;
    const name = r.target.closest(".upload").querySelector(".name").textContent;
    (window.__progress[name] ||= []).push(Number(r.target.getAttribute("aria-valuenow")));
  }
}).observe(document, { subtree: true, attributes: true, attributeFilter: ["aria-valuenow"] });
"""


@contextmanager
def serve(app) -> Iterator[str]:
    """``app`` on a real HTTP port on 127.0.0.1, one thread per request; yields its base URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=10)


@pytest.fixture(scope="module")
def base_url(app) -> Iterator[str]:
    with serve(app) as url:
        yield url


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        if os.environ.get("CI"):
            pytest.fail("chromium is missing: .ci/run installs it with apt-get")
        pytest.skip("chromium is not installed (apt-get install chromium)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def open_page(browser: Browser, base_url: str, width: int = 1280, height: int = 900) -> Page:
    """A fresh browser context (no cookies) and its page; close with ``page.context.close()``."""
    context = browser.new_context(base_url=base_url, viewport={"width": width, "height": height})
    context.set_default_timeout(STEP_TIMEOUT_MS)
    return context.new_page()


@pytest.fixture
def page(browser: Browser, base_url: str) -> Iterator[Page]:
    page = open_page(browser, base_url)
    yield page
    page.context.close()


def sign_up(page: Page) -> str:
    email = unique_email("browser")
    page.goto("/signup")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign up").click()
    expect(page.get_by_role("heading", name="Upload documents")).to_be_visible()
    # The script has run once the first list answer replaced the loading state: files picked now upload.
    expect(page.locator("#grid-status")).not_to_have_text("Loading documents…")
    return email


def keep(page: Page, tmp_path: Path, name: str) -> None:
    """A screenshot for the test's record, and for the README's pictures when SOCRATE_SCREENSHOTS names
    a folder (``SOCRATE_SCREENSHOTS=docs/screenshots scripts/test -m browser`` renews them)."""
    page.evaluate("Promise.all(document.getAnimations().map((a) => a.finished))")
    page.screenshot(path=tmp_path / name)
    if folder := os.environ.get("SOCRATE_SCREENSHOTS"):
        page.screenshot(path=Path(folder) / name)


def upload_row(page: Page, name: str):
    return page.locator(".upload", has=page.locator(".name", has_text=name))


def grid_row(page: Page, name: str):
    return page.locator("#documents tbody tr", has_text=name)


def settle(page: Page) -> Page:
    """Let the bars' width transitions finish so screenshots show what a person would see."""
    page.evaluate("Promise.all(document.getAnimations().map((a) => a.finished))")
    return page


def bar_colour(row) -> str:
    return row.locator(".bar-fill").evaluate("el => getComputedStyle(el).backgroundColor")


def test_sign_up_upload_two_files_watch_them_finish_and_delete_one(page, worker, tmp_path) -> None:
    sign_up(page)
    expect(page.locator("#grid-status")).to_have_text("No documents yet. Drop a file above to get started.")
    page.screenshot(path=tmp_path / "1-empty.png", full_page=True)

    page.evaluate(RECORD_PROGRESS)
    page.set_input_files("#file-input", files=[
        {"name": "report.pdf", "mimeType": "application/pdf", "buffer": docgen.pdf(pages=4, lang="en")},
        {"name": "long-notes.txt", "mimeType": "text/plain", "buffer": docgen.txt("en", count=400)},
    ])  # fmt: skip
    expect(upload_row(page, "report.pdf")).to_have_count(1)
    expect(page.locator("#uploads .upload[data-state=processing]").first).to_be_visible(
        timeout=DONE_TIMEOUT_MS
    )
    page.screenshot(path=tmp_path / "2-uploading.png", full_page=True)

    for name in ("report.pdf", "long-notes.txt"):
        row = upload_row(page, name)
        expect(row).to_have_attribute("data-state", "ready", timeout=DONE_TIMEOUT_MS)
        expect(row.locator(".message")).to_have_text("Ready")
        expect(row.get_by_role("progressbar")).to_have_attribute("aria-valuenow", "100")
        assert bar_colour(row) == GREEN
    history = page.evaluate("window.__progress")
    for name, values in history.items():
        assert values == sorted(values) and values[-1] == 100, (name, values)
    assert any(0 < v < 100 for values in history.values() for v in values), history  # it moved

    for name in ("report.pdf", "long-notes.txt"):
        row = grid_row(page, name)
        expect(row.locator(".badge")).to_have_text("ready")
        expect(row.locator("[data-label=Language]")).to_have_text("en")
        expect(row.locator("[data-label=Source]")).to_have_text("Web")
        assert int(row.locator("[data-label=Chunks]").inner_text()) > 0
    keep(page, tmp_path, "library.png")

    grid_row(page, "report.pdf").get_by_role("link", name="Open report.pdf").click()
    expect(page.locator("#doc-facts dt:text-is('Pages') + dd")).to_have_text("4")
    page.get_by_text("Technical details").click()
    expect(page.locator("#doc-technical")).to_contain_text("memvid 0.1.3")
    page.screenshot(path=tmp_path / "4-document.png", full_page=True)
    page.get_by_role("link", name="← Library").click()

    grid_row(page, "long-notes.txt").get_by_role("button", name="Delete long-notes.txt").click()
    page.locator("#confirm-delete").get_by_role("button", name="Delete").click()
    expect(page.locator("#documents tbody tr")).to_have_count(1)
    expect(grid_row(page, "report.pdf")).to_have_count(1)
    page.reload()
    expect(page.locator("#documents tbody tr")).to_have_count(1)


def test_failed_and_rejected_uploads_show_their_errors(page, worker, tmp_path) -> None:
    sign_up(page)
    page.set_input_files("#file-input", files=[
        {"name": "broken.pdf", "mimeType": "application/pdf", "buffer": b"%PDF-1.4\n" + b"\x00garbage" * 100},
        {"name": "fake.pdf", "mimeType": "application/pdf", "buffer": b"plain text dressed up as a pdf"},
        {"name": "virus.exe", "mimeType": "application/octet-stream", "buffer": b"MZ\x90\x00"},
    ])  # fmt: skip
    broken = upload_row(page, "broken.pdf")
    expect(broken).to_have_attribute("data-state", "failed", timeout=DONE_TIMEOUT_MS)
    expect(broken.locator(".message")).to_have_text("The PDF file is corrupt or unreadable")
    assert bar_colour(broken) == RED
    server_says = "The file content does not match its .pdf extension"  # the server is the authority
    expect(upload_row(page, "fake.pdf").locator(".message")).to_have_text(server_says)
    expect(upload_row(page, "virus.exe").locator(".message")).to_contain_text("Unsupported file type")
    expect(grid_row(page, "broken.pdf").locator(".badge")).to_have_text("failed")
    expect(page.locator("#documents tbody tr")).to_have_count(1)
    settle(page).screenshot(path=tmp_path / "failed.png", full_page=True)


def test_cancel_then_retry_from_the_grid(page, worker, tmp_path) -> None:
    sign_up(page)
    long_text = docgen.txt("en", count=300)
    page.set_input_files(
        "#file-input", files=[{"name": "long.txt", "mimeType": "text/plain", "buffer": long_text}]
    )
    row = grid_row(page, "long.txt")
    row.get_by_role("button", name="Cancel long.txt").click()
    expect(row.locator(".badge")).to_have_text("cancelled")
    settle(page).screenshot(path=tmp_path / "cancelled.png", full_page=True)
    expect(row.locator(".bar")).to_have_attribute("data-state", "cancelled")  # grey, not a blue bar
    polls: list[str] = []
    page.on("request", lambda request: polls.append(request.url) if request.url.endswith("/status") else None)
    texts: set[str] = set()
    page.expose_function("recordProgress", lambda text: texts.add(text))
    page.evaluate(
        """new MutationObserver(() => document.querySelectorAll("tr[data-status] .progress-text")
             .forEach((el) => window.recordProgress(el.textContent)))
           .observe(document.querySelector("#documents tbody"), { subtree: true, childList: true })"""
    )
    row.get_by_role("button", name="Retry long.txt").click()  # no reload, no Refresh: the row follows
    expect(row.locator(".badge")).to_have_text("ready", timeout=DONE_TIMEOUT_MS)
    expect(row.locator(".progress-text")).to_have_text("Ready")
    assert polls, "the retried row was not polled"
    assert any(re.fullmatch(r"Understanding \d+ of \d+ passages", text) for text in texts), texts


def test_api_keys_page_and_api_uploads_appear_without_a_reload(page, app, tmp_path) -> None:
    page.clock.install()
    sign_up(page)
    page.get_by_role("link", name="API keys").click()
    expect(page.locator("#keys-status")).to_have_text(
        "No API keys yet. Create one to call the API from scripts."
    )
    page.get_by_label("Key name").fill("laptop")
    page.get_by_role("button", name="Create key").click()
    expect(page.locator("#new-key-value")).to_have_text(re.compile(r"^sk_\w{12}_"))
    key = page.locator("#new-key-value").inner_text()
    page.get_by_role("button", name="Copy").click()
    expect(page.locator("#copy-key")).not_to_have_text("Copy")
    row = page.locator("#keys tbody tr", has_text="laptop")
    expect(row.locator("[data-label=Prefix]")).to_have_text(key[: len("sk_") + 12] + "_…")
    page.screenshot(path=tmp_path / "keys.png", full_page=True)

    page.get_by_role("link", name="Documents").click()
    expect(page.locator("#grid-status")).to_contain_text("No documents yet")
    response = upload(app.test_client(), TenantHandle("", key), docgen.markdown("en"), "from-a-script.md")
    assert response.status_code == 202
    page.clock.run_for(31_000)  # the grid's periodic refresh, with no reload
    expect(grid_row(page, "from-a-script.md").locator("[data-label=Source]")).to_have_text("API")

    page.get_by_role("link", name="API keys").click()
    expect(page.locator("#new-key")).to_be_hidden()  # shown once, never again
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Revoke laptop").click()
    expect(page.locator("#keys tbody tr")).to_have_count(0)
    again = app.test_client().get("/api/documents", headers={"Authorization": f"Bearer {key}"})
    assert again.status_code == 401


def test_phone_width_layout_has_no_sideways_scroll(browser, base_url, tmp_path) -> None:
    page = open_page(browser, base_url, width=375, height=740)
    sign_up(page)
    page.set_input_files("#file-input", files=[
        FilePayload(name="a-rather-long-file-name-for-a-phone.md", mimeType="text/markdown",
                    buffer=docgen.markdown("en")),
    ])  # fmt: skip
    expect(grid_row(page, "a-rather-long-file-name-for-a-phone.md")).to_have_count(1)
    expect(page.get_by_text("Choose files")).to_be_visible()
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 375, width
    page.screenshot(path=tmp_path / "phone.png", full_page=True)
    page.get_by_role("button", name="Log out").click()
    expect(page.get_by_role("heading", name="Log in")).to_be_visible()
    page.context.close()


def test_the_grid_pages_through_many_documents(page) -> None:
    sign_up(page)
    token = page.locator('meta[name="csrf-token"]').get_attribute("content")
    for i in range(26):  # blank text files (each its own): the worker fails them at once, without encoding
        file = {"name": f"note-{i:02}.txt", "mimeType": "text/plain", "buffer": b" " * (i + 1) + b"\n"}
        response = page.request.post(
            "/api/documents/upload", headers={"X-CSRF-Token": token}, multipart={"file": file}
        )
        assert response.status == 202, response.text()
    page.get_by_role("button", name="Refresh").click()
    expect(page.locator("#grid-status")).to_have_text("Documents 1–25 of 26, newest first.")
    expect(page.locator("#documents tbody tr")).to_have_count(25)
    expect(grid_row(page, "note-25.txt")).to_have_count(1)
    expect(page.get_by_role("button", name="Newer")).to_be_hidden()

    page.get_by_role("button", name="Older").click()
    expect(page.locator("#grid-status")).to_have_text("Documents 26–26 of 26, newest first.")
    expect(page.locator("#documents tbody tr")).to_have_count(1)
    page.reload()  # the page keeps its place
    expect(page.locator("#grid-status")).to_have_text("Documents 26–26 of 26, newest first.")

    filters = page.get_by_role("form", name="Filter the library")
    filters.get_by_label("Name").fill("NOTE-1")  # any case; the list follows as one types
    expect(page.locator("#grid-status")).to_have_text("10 documents.")
    filters.get_by_label("Sort").select_option(label="By name")
    expect(page.locator("#documents tbody tr").first).to_contain_text("note-10.txt")
    page.reload()
    expect(filters.get_by_label("Name")).to_have_value("NOTE-1")
    expect(page.locator("#documents tbody tr").first).to_contain_text("note-10.txt")
    filters.get_by_label("Type").select_option("pdf")
    expect(page.locator("#grid-status")).to_have_text("No documents match these filters.")
    filters.get_by_role("button", name="Clear").click()
    expect(page.locator("#grid-status")).to_have_text("Documents 1–25 of 26, newest first.")
    page.get_by_role("button", name="Older").click()
    expect(page.locator("#documents tbody tr")).to_have_count(1)
    grid_row(page, "note-00.txt").get_by_role("button", name="Delete note-00.txt").click()
    page.locator("#confirm-delete").get_by_role("button", name="Delete").click()
    expect(page.locator("#grid-status")).to_have_text("25 documents.")  # the emptied page steps back
    expect(page.get_by_role("button", name="Older")).to_be_hidden()


def test_network_errors_are_retried_with_backoff_until_the_document_is_ready(page, worker) -> None:
    sign_up(page)
    dropped: list[str] = []

    def drop_first_two(route):
        if len(dropped) < 2:
            dropped.append(route.request.url)
            route.abort("connectionreset")
        else:
            route.continue_()

    page.route("**/api/documents/*/status", drop_first_two)
    page.set_input_files("#file-input", files=[
        {"name": "flaky.md", "mimeType": "text/markdown", "buffer": docgen.markdown("en")},
    ])  # fmt: skip
    row = upload_row(page, "flaky.md")
    expect(row.locator(".message")).to_contain_text("Connection problem; retrying in")
    expect(row).to_have_attribute("data-state", "ready", timeout=DONE_TIMEOUT_MS)
    assert len(dropped) == 2


def test_after_four_minutes_a_row_stops_polling_and_follows_the_list(page, worker) -> None:
    page.clock.install()  # simulated time: the page's four minutes pass in an instant
    sign_up(page)
    page.set_input_files("#file-input", files=[
        {"name": "slow.txt", "mimeType": "text/plain", "buffer": docgen.txt("en", count=60)},
    ])  # fmt: skip
    row = upload_row(page, "slow.txt")
    # The first status answer has replaced the upload's own message: the next poll waits on the clock.
    expect(row.locator(".message")).not_to_have_text(re.compile("Uploading|uploaded and queued"))
    page.clock.fast_forward("04:01")
    expect(row.locator(".message")).to_have_text(
        "Still processing: this can take a while. The list below keeps refreshing."
    )
    for _ in range(120):  # the list refresh (every 30 simulated seconds) brings the row up to date
        page.clock.run_for(31_000)
        if row.get_attribute("data-state") == "ready":
            break
        time.sleep(1)  # real time for the worker; the page's own clock stands still
    expect(row).to_have_attribute("data-state", "ready")
    expect(row.locator(".message")).to_have_text("Ready")


def test_telegram_page_issues_a_one_time_code_the_bot_accepts(page, app, tmp_path) -> None:
    from socrate.telegram import users as telegram_users

    sign_up(page)
    page.get_by_role("link", name="Telegram").click()
    expect(page.locator("#telegram-status")).to_contain_text("No Telegram account is linked yet")
    expect(page.locator("#bot-name")).to_contain_text(
        "names no Telegram bot (TELEGRAM_BOT_USERNAME is unset)"
    )
    page.get_by_role("button", name="Create link code").click()
    expect(page.locator("#link-command")).to_have_text(re.compile(r"^/link [\w-]{16}$"))
    page.screenshot(path=tmp_path / "telegram.png", full_page=True)
    code = page.locator("#link-command").inner_text().split()[1]
    with app.extensions["socrate"].sessions() as session:  # what the bot does with /link <code>
        tenant_id = telegram_users.redeem_code(session, 424242, code)
    page.reload()
    expect(page.locator("#telegram-status")).to_contain_text("1 Telegram account is linked")
    expect(page.locator("#telegram-accounts tbody tr")).to_contain_text("424242")
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Unlink Telegram account 424242").click()
    expect(page.locator("#telegram-status")).to_contain_text("No Telegram account is linked yet")
    assert tenant_id


def _log_in(page: Page, email: str, password: str = PASSWORD) -> None:
    page.goto("/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Upload documents")).to_be_visible()


def test_account_page_changes_the_password_and_logs_other_sessions_out(browser, base_url, tmp_path) -> None:
    laptop = open_page(browser, base_url)
    email = sign_up(laptop)
    phone = open_page(browser, base_url, width=375, height=740)
    _log_in(phone, email)

    phone.get_by_role("link", name="Account").click()
    expect(phone.locator("#sessions tbody tr")).to_have_count(2)
    assert phone.evaluate("document.documentElement.scrollWidth") <= 375
    phone.screenshot(path=tmp_path / "account-phone.png", full_page=True)

    laptop.get_by_role("link", name="Account").click()
    laptop.get_by_label("Current password").fill(PASSWORD)
    laptop.get_by_label("New password").fill("another long passphrase 9")
    laptop.get_by_role("button", name="Change password").click()
    expect(laptop.get_by_role("status")).to_contain_text("1 other session(s) logged out")
    expect(laptop.locator("#sessions tbody tr")).to_have_count(1)

    phone.reload()
    expect(phone.get_by_role("heading", name="Log in")).to_be_visible()
    _log_in(phone, email, "another long passphrase 9")

    laptop.get_by_role("button", name="Log out everywhere").click()
    expect(laptop.get_by_role("heading", name="Log in")).to_be_visible()
    phone.goto("/")
    expect(phone.get_by_role("heading", name="Log in")).to_be_visible()
    laptop.context.close()
    phone.context.close()


def test_a_file_dropped_twice_says_it_is_already_in_the_library(page, worker) -> None:
    sign_up(page)
    content = docgen.txt("en", count=2, needle="Dropped twice, stored once.")
    file: FilePayload = {"name": "twice.txt", "mimeType": "text/plain", "buffer": content}
    page.set_input_files("#file-input", files=[file])
    expect(upload_row(page, "twice.txt")).to_have_attribute("data-state", "ready", timeout=DONE_TIMEOUT_MS)
    page.set_input_files("#file-input", files=[{**file, "name": "twice-again.txt"}])
    again = upload_row(page, "twice-again.txt")
    expect(again.locator(".message")).to_have_text("Already in your library")
    expect(page.locator("#documents tbody tr")).to_have_count(1)
    again.get_by_role("link", name="Open twice-again.txt in your library").click()
    expect(page.locator("#doc-facts")).to_contain_text("twice.txt")


def test_a_pasted_link_is_downloaded_and_followed_to_ready(page, worker) -> None:
    from tests.fake_site import Page as SitePage
    from tests.fake_site import serve

    sign_up(page)
    with serve() as site:
        site.pages["/guide.html"] = SitePage(
            b"<html><body><main><p>Pasted link, read by the worker.</p></main></body></html>"
        )
        link = site.url("/guide.html")
        page.get_by_label("Link to a web page or a file").fill(link)
        page.get_by_role("button", name="Add link").click()
        expect(upload_row(page, link)).to_have_attribute("data-state", "ready", timeout=DONE_TIMEOUT_MS)
    expect(page.get_by_label("Link to a web page or a file")).to_have_value("")
    expect(grid_row(page, "guide.html")).to_be_visible()
    page.get_by_label("Link to a web page or a file").fill("http://169.254.169.254/latest/meta-data/")
    page.get_by_role("button", name="Add link").click()
    refused = upload_row(page, "http://169.254.169.254/latest/meta-data/")
    expect(refused).to_have_attribute("data-state", "failed")
    expect(refused.locator(".message")).to_contain_text("private or local address")
