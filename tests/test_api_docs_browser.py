"""/api/docs in headless Chromium: Swagger UI (from the swagger-ui-py package, no CDN) renders the
OpenAPI 3.1 contract, its operations and webhooks, without errors or requests beyond our server."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests import test_dashboard_browser as dashboard

browser, page, base_url = dashboard.browser, dashboard.page, dashboard.base_url


def test_the_docs_page_renders_the_contract_from_our_own_server(page: Page, base_url: str, tmp_path) -> None:
    requested: list[str] = []
    errors: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.goto("/api/docs")
    expect(page.locator(".info .title")).to_contain_text("Socrate API")
    expect(page.get_by_text("Upload a file", exact=True)).to_be_visible()
    expect(page.get_by_text("/api/webhooks/{endpoint_id}/rotate-secret", exact=True)).to_be_visible()
    expect(page.get_by_text("document.ready", exact=True).first).to_be_attached()
    page.screenshot(path=tmp_path / "api-docs.png", full_page=False)
    assert requested and all(url.startswith(base_url) for url in requested), requested
    assert not errors, errors
