"""The dashboard's Webhooks page in headless Chromium: add an endpoint (its secret shown once), send a test
event that a receiver verifies with that secret and see it in the delivery log, rotate, disable, delete."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect

from tests import test_dashboard_browser as dashboard
from tests.fake_receiver import Behaviour, Receiver, serve
from tests.test_dashboard_browser import sign_up

browser, page, base_url = dashboard.browser, dashboard.page, dashboard.base_url


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with serve() as server:
        yield server


def test_add_test_rotate_disable_and_delete_an_endpoint(
    page: Page, webhooks_worker, receiver, tmp_path
) -> None:
    sign_up(page)
    page.get_by_role("link", name="Webhooks").click()
    expect(page.locator("#webhooks-status")).to_have_text(
        "No endpoints yet. Add one to be told when documents are ready."
    )
    page.get_by_label("Endpoint URL").fill(receiver.url("/crm"))
    page.get_by_label("Description (optional)").fill("CRM sync")
    page.get_by_label("document.deleted").uncheck()
    page.get_by_role("button", name="Add endpoint").click()
    secret = page.locator("#new-secret-value")
    expect(secret).to_contain_text("whsec_")
    first_secret = secret.inner_text()
    receiver.behaviours["/crm"] = Behaviour(secrets=[first_secret])
    card = page.locator(".endpoint", has_text="CRM sync")
    expect(card).to_contain_text("Events: document.ready, document.failed")

    card.get_by_role("button", name="Send test event: CRM sync").click()
    delivery = receiver.wait_for("/crm")[0]
    assert delivery.verified and delivery.payload["type"] == "webhook.test"
    expect(card.locator(".delivery-log tbody tr")).to_have_count(1)
    expect(card.locator(".delivery-log tbody tr")).to_contain_text("HTTP 200")
    page.screenshot(path=tmp_path / "webhooks.png", full_page=True)

    page.once("dialog", lambda dialog: dialog.accept())
    card.get_by_role("button", name="Rotate secret: CRM sync").click()
    expect(secret).not_to_have_text(first_secret)
    assert secret.inner_text().startswith("whsec_")

    card.get_by_role("button", name="Disable: CRM sync").click()
    expect(card.locator(".badge")).to_have_text("Disabled")
    expect(card.get_by_role("alert")).to_have_text("Disabled by a user")
    card.get_by_role("button", name="Enable: CRM sync").click()
    expect(card.locator(".badge")).to_have_text("Active")

    page.once("dialog", lambda dialog: dialog.accept())
    card.get_by_role("button", name="Delete: CRM sync").click()
    expect(page.locator(".endpoint")).to_have_count(0)


def test_a_private_address_is_refused_with_the_reason(page: Page) -> None:
    sign_up(page)
    page.goto("/webhooks")
    page.get_by_label("Endpoint URL").fill("http://169.254.169.254/latest/meta-data")
    page.get_by_role("button", name="Add endpoint").click()
    expect(page.locator("#webhooks-status")).to_contain_text("private or local address (169.254.169.254)")
    expect(page.locator(".endpoint")).to_have_count(0)
