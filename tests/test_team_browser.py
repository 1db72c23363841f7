"""Workspaces with members in two headless Chromium browsers at once, an owner's and a member's: the
invitation link, what a member may not see, switching workspaces, and a removal that logs the member
out at their next request."""

from __future__ import annotations

from playwright.sync_api import Browser, Page, expect

from tests import test_dashboard_browser as dashboard
from tests.test_dashboard_browser import keep, open_page, sign_up
from tests.web_session import PASSWORD

browser, page, base_url = dashboard.browser, dashboard.page, dashboard.base_url


def invitation_link(owner: Page) -> str:
    owner.get_by_role("link", name="Members").click()
    owner.get_by_role("button", name="Create invitation link").click()
    link = owner.locator("#new-invite-url")
    expect(link).to_contain_text("/invite/")
    return link.inner_text()


def switch_to(page: Page, workspace: str) -> None:
    page.get_by_label("Workspace", exact=True).select_option(label=workspace)
    page.get_by_role("button", name="Switch").click()
    expect(page.get_by_role("status").filter(has_text=f"You are now in {workspace}.")).to_be_visible()


def test_an_owner_invites_a_member_who_cannot_see_keys_and_is_logged_out_when_removed(
    page: Page, browser: Browser, base_url: str, tmp_path
) -> None:
    owner_email = sign_up(page)  # a new account's workspace is named after its email
    link = invitation_link(page)
    member = open_page(browser, base_url)
    try:
        member_email = sign_up(member)
        member.goto(link)
        expect(member.get_by_text(f"You are invited to {owner_email}")).to_be_visible()
        member.get_by_role("button", name=f"Join {owner_email}").click()
        expect(member.get_by_role("status").filter(has_text=f"Welcome to {owner_email}.")).to_be_visible()

        nav = member.get_by_role("navigation", name="Main")
        expect(nav.get_by_role("link", name="Members")).to_be_visible()
        expect(nav.get_by_role("link", name="API keys")).to_have_count(0)
        expect(nav.get_by_role("link", name="Webhooks")).to_have_count(0)
        member.goto("/keys")
        expect(member.get_by_role("alert")).to_have_text("Only the workspace's owners can do this")
        member.goto("/members")
        expect(member.locator("#members tbody tr")).to_have_count(2)
        expect(member.get_by_role("button", name="Create invitation link")).to_have_count(0)
        expect(member.get_by_role("button", name=f"Remove: {owner_email}")).to_have_count(0)
        keep(member, tmp_path, "members.png")

        switch_to(member, member_email)  # back to their own workspace, where they own the keys
        expect(
            member.get_by_role("navigation", name="Main").get_by_role("link", name="API keys")
        ).to_be_visible()
        switch_to(member, owner_email)

        page.reload()
        row = page.locator("#members tbody tr", has_text=member_email)
        expect(row).to_contain_text("Member")
        page.once("dialog", lambda dialog: dialog.accept())
        row.get_by_role("button", name=f"Remove: {member_email}").click()
        expect(page.locator("#members tbody tr")).to_have_count(1)

        member.reload()  # the member's next request: their session in that workspace is gone
        expect(member.get_by_role("button", name="Log in")).to_be_visible()
        member.get_by_label("Email").fill(member_email)
        member.get_by_label("Password").fill(PASSWORD)
        member.get_by_role("button", name="Log in").click()
        expect(member.get_by_label("Workspace", exact=True).locator("option")).to_have_text([member_email])
    finally:
        member.context.close()


def test_a_workspace_is_deleted_only_by_its_typed_name(page: Page) -> None:
    email = sign_up(page)
    page.get_by_role("link", name="Members").click()
    page.get_by_label("New workspace name").fill("Side project")
    page.get_by_role("button", name="Create workspace").click()
    expect(page.get_by_label("Workspace", exact=True).locator("option:checked")).to_have_text("Side project")
    page.get_by_role("link", name="Members").click()
    page.get_by_label("Type the workspace's name").fill("side project")
    page.get_by_role("button", name="Delete workspace").click()
    expect(page.locator("#members-status")).to_have_text(
        "Could not delete the workspace: Type the workspace's name exactly to delete it"
    )
    page.get_by_label("Type the workspace's name").fill("Side project")
    page.get_by_role("button", name="Delete workspace").click()
    expect(page.get_by_label("Workspace", exact=True).locator("option")).to_have_text([email])
