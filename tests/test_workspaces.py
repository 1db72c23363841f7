"""Workspaces with members, through the dashboard's own API and pages: single-use invitations, roles
(members use documents, owners also manage keys, webhooks, members), switching, removal that logs out
at once, deleting a workspace by its name, deleting an account; isolation between workspaces."""

from __future__ import annotations

import io
from datetime import timedelta

from sqlalchemy import update

from socrate.db.models import Invitation, User
from tests import docgen
from tests.web_session import PASSWORD, WebUser, csrf_from, post_form, sign_up


def refreshed(user: WebUser) -> WebUser:
    """The page's CSRF token after a log-in changed (a fresh session has a fresh token)."""
    user.csrf = csrf_from(user.client.get("/account").get_data(as_text=True))
    return user


def invite(owner: WebUser, role: str = "member") -> str:
    response = owner.client.post("/api/members/invitations", json={"role": role}, headers=owner.headers)
    assert response.status_code == 201, response.get_json()
    return response.get_json()["url"].split("localhost", 1)[-1]


def join(user: WebUser, path: str) -> None:
    assert "Join" in user.client.get(path).get_data(as_text=True)
    response = post_form(user.client, path)
    assert response.status_code == 302 and response.headers["Location"] == "/"


def upload(user: WebUser, name: str) -> str:
    data = {"file": (io.BytesIO(docgen.txt() + name.encode()), name)}
    response = user.client.post("/api/documents/upload", data=data, headers=user.headers)
    assert response.status_code == 202, response.get_json()
    return response.get_json()["document_id"]


def names(user: WebUser) -> set[str]:
    return {d["filename"] for d in user.client.get("/api/documents").get_json()["documents"]}


def test_an_invited_member_shares_the_library_but_not_the_keys(app) -> None:
    owner, member = sign_up(app, "owner"), sign_up(app, "member")
    upload(owner, "plan.txt")
    join(member, invite(owner))
    refreshed(member)
    assert names(member) == {"plan.txt"}
    upload(member, "notes.txt")
    assert names(owner) == {"plan.txt", "notes.txt"}
    for method, path in [("get", "/api/keys"), ("post", "/api/keys"), ("get", "/api/webhooks"),
                         ("post", "/api/members/invitations")]:  # fmt: skip
        response = getattr(member.client, method)(path, json={}, headers=member.headers)
        assert response.status_code == 403 and "owners" in response.get_json()["error"], (method, path)
    page = member.client.get("/").get_data(as_text=True)
    assert "API keys" not in page and "Webhooks" not in page and "Members" in page
    for path in ("/keys", "/webhooks"):
        shown = member.client.get(path)
        assert shown.status_code == 403 and "owners" in shown.get_data(as_text=True), path
    people = owner.client.get("/api/members").get_json()
    assert {(m["email"], m["role"]) for m in people["members"]} == {
        (owner.email, "owner"),
        (member.email, "member"),
    }


def test_an_invitation_works_once_and_for_seven_days(app, ctx) -> None:
    owner, first, second = sign_up(app, "owner"), sign_up(app, "first"), sign_up(app, "second")
    path = invite(owner)
    join(first, path)
    assert second.client.get(path).status_code == 404
    assert "already used" in second.client.get(path).get_data(as_text=True)
    stale = invite(owner)
    with ctx.sessions() as session:
        session.execute(update(Invitation).where(Invitation.used_at.is_(None)).values(
            expires_at=Invitation.created_at - timedelta(seconds=1)))  # fmt: skip
        session.commit()
    assert second.client.get(stale).status_code == 404


def test_someone_not_logged_in_logs_in_and_comes_back_to_join(app) -> None:
    owner, guest = sign_up(app, "owner"), sign_up(app, "guest")
    path = invite(owner)
    guest.client.post("/logout", data={"csrf_token": guest.csrf})
    page = guest.client.get(path).get_data(as_text=True)
    assert "Log in to join" in page and f"next={path}" in page
    logged_in = post_form(
        guest.client, f"/login?next={path}", email=guest.email, password=PASSWORD, next=path
    )
    assert logged_in.headers["Location"] == path
    join(guest, path)
    outside = post_form(app.test_client(), "/login?next=https://evil.example/", email=guest.email,
                        password=PASSWORD, next="https://evil.example/")  # fmt: skip
    assert outside.headers["Location"] == "/"


def test_a_removed_member_is_logged_out_at_their_next_request(app) -> None:
    owner, member = sign_up(app, "owner"), sign_up(app, "member")
    join(member, invite(owner))
    refreshed(member)
    member_id = next(
        m["user_id"] for m in owner.client.get("/api/members").get_json()["members"] if not m["you"]
    )
    assert owner.client.delete(f"/api/members/{member_id}", headers=owner.headers).status_code == 200
    assert member.client.get("/api/documents").status_code == 401
    assert member.client.get("/").headers["Location"] == "/login"
    post_form(member.client, "/login", email=member.email, password=PASSWORD)
    assert names(member) == set()  # back in their own workspace


def test_switching_workspaces_shows_each_ones_documents_and_nothing_else(app) -> None:
    alice, bob = sign_up(app, "alice"), sign_up(app, "bob")
    upload(alice, "alice-only.txt")
    upload(bob, "bob-only.txt")
    join(alice, invite(bob))
    refreshed(alice)
    assert names(alice) == {"bob-only.txt"}
    mine = alice.client.get("/api/workspaces").get_json()
    assert len(mine["workspaces"]) == 2
    home = next(w["id"] for w in mine["workspaces"] if w["id"] != mine["current"])
    moved = alice.client.post("/api/workspaces/switch", json={"workspace_id": home}, headers=alice.headers)
    assert moved.status_code == 200 and moved.get_json()["role"] == "owner"
    assert names(alice) == {"alice-only.txt"}
    stranger = sign_up(app, "stranger").client.get("/api/workspaces").get_json()["current"]
    refused = alice.client.post(
        "/api/workspaces/switch", json={"workspace_id": stranger}, headers=alice.headers
    )
    assert refused.status_code == 404 and names(alice) == {"alice-only.txt"}


def test_a_workspace_keeps_an_owner(app) -> None:
    owner, member = sign_up(app, "owner"), sign_up(app, "member")
    join(member, invite(owner))
    people = owner.client.get("/api/members").get_json()["members"]
    me = next(m["user_id"] for m in people if m["you"])
    other = next(m["user_id"] for m in people if not m["you"])
    assert (
        owner.client.patch(f"/api/members/{me}", json={"role": "member"}, headers=owner.headers).status_code
        == 409
    )
    assert owner.client.delete(f"/api/members/{me}", headers=owner.headers).status_code == 409
    promoted = owner.client.patch(f"/api/members/{other}", json={"role": "owner"}, headers=owner.headers)
    assert promoted.get_json()["role"] == "owner"
    assert (
        owner.client.patch(f"/api/members/{me}", json={"role": "member"}, headers=owner.headers).status_code
        == 200
    )


def test_another_workspaces_members_and_invitations_are_404(app) -> None:
    owner, outsider = sign_up(app, "owner"), sign_up(app, "outsider")
    owner_id = owner.client.get("/api/members").get_json()["members"][0]["user_id"]
    invitation = owner.client.post("/api/members/invitations", json={}, headers=owner.headers).get_json()[
        "id"
    ]
    for method, path in [("patch", f"/api/members/{owner_id}"), ("delete", f"/api/members/{owner_id}"),
                         ("delete", f"/api/members/invitations/{invitation}")]:  # fmt: skip
        response = getattr(outsider.client, method)(path, json={"role": "member"}, headers=outsider.headers)
        assert response.status_code == 404, (method, path)
    assert outsider.client.get("/api/members").get_json()["members"][0]["email"] == outsider.email


def test_deleting_a_workspace_takes_its_name_and_keeps_its_people(app, ctx, settings) -> None:
    owner, member = sign_up(app, "owner"), sign_up(app, "member")
    doc = upload(owner, "doomed.txt")
    join(member, invite(owner))
    workspace = owner.client.get("/api/workspaces").get_json()
    name = next(w["name"] for w in workspace["workspaces"] if w["id"] == workspace["current"])
    wrong = owner.client.post("/api/workspaces/delete", json={"name": "nope"}, headers=owner.headers)
    assert wrong.status_code == 400 and "exactly" in wrong.get_json()["error"]
    done = owner.client.post("/api/workspaces/delete", json={"name": name}, headers=owner.headers)
    assert done.status_code == 200
    assert not (settings.storage_dir / "tenants" / workspace["current"]).exists()
    refreshed(owner)
    assert names(owner) == set() and owner.client.get(f"/api/documents/{doc}").status_code == 404
    assert member.client.get("/api/documents").status_code == 401  # their session was in it
    post_form(member.client, "/login", email=member.email, password=PASSWORD)
    assert member.client.get("/api/workspaces").get_json()["workspaces"]  # still has their own


def test_deleting_an_account_needs_the_password_and_a_successor_owner(app, ctx) -> None:
    owner, member = sign_up(app, "owner"), sign_up(app, "member")
    join(member, invite(owner))
    refused = post_form(owner.client, "/account/delete", password="not it")
    assert refused.status_code == 400 and "password is wrong" in refused.get_data(as_text=True)
    blocked = post_form(owner.client, "/account/delete", password=PASSWORD)
    assert blocked.status_code == 409 and "only owner" in blocked.get_data(as_text=True)
    left = post_form(member.client, "/account/delete", password=PASSWORD)
    assert left.status_code == 302 and left.headers["Location"] == "/signup"
    with ctx.sessions() as session:
        assert session.query(User).filter(User.email == member.email).count() == 0
    assert {m["email"] for m in owner.client.get("/api/members").get_json()["members"]} == {owner.email}
