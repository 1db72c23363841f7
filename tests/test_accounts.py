"""Dashboard accounts through Flask's test client: sign-up, log-in, log-out, CSRF, session isolation."""

from __future__ import annotations

import io

import pytest
from sqlalchemy import select

from socrate.accounts import passwords
from socrate.db.models import Tenant, User
from tests import docgen
from tests.web_session import PASSWORD, csrf_from, post_form, sign_up, unique_email


def _user(ctx, email: str) -> User | None:
    with ctx.sessions() as session:
        return session.scalars(select(User).where(User.email == email)).first()


def _web_upload(user, content: bytes, filename: str, headers: dict[str, str] | None = None):
    return user.client.post(
        "/api/documents/upload",
        data={"file": (io.BytesIO(content), filename)},
        headers=user.headers if headers is None else headers,
        content_type="multipart/form-data",
    )


def test_sign_up_creates_a_tenant_and_its_owner_and_logs_in(app, ctx) -> None:
    client = app.test_client()
    email = unique_email("new")
    response = post_form(client, "/signup", email=f"  {email.upper()} ", password=PASSWORD)
    assert response.status_code == 302 and response.headers["Location"] == "/"
    page = client.get("/")
    assert page.status_code == 200 and "Upload documents" in page.get_data(as_text=True)
    assert email in page.get_data(as_text=True)

    user = _user(ctx, email)
    assert user is not None and user.password_hash is not None
    assert user.password_hash.startswith("scrypt$")
    assert PASSWORD not in user.password_hash
    with ctx.sessions() as session:
        assert session.get(Tenant, user.tenant_id).name == email


def test_duplicate_email_is_refused_with_a_clear_message(app) -> None:
    first = sign_up(app, "dup")
    response = post_form(app.test_client(), "/signup", email=first.email, password="another password 42")
    body = response.get_data(as_text=True)
    assert response.status_code == 409
    assert "An account with this email already exists" in body and "Traceback" not in body


@pytest.mark.parametrize(
    ("password", "message"),
    [("short", "at least 10 characters"), ("aaaaaaaaaaaaaa", "too weak"), ("", "at least 10 characters")],
)
def test_weak_password_is_refused_and_no_account_is_made(app, ctx, password, message) -> None:
    email = unique_email("weak")
    response = post_form(app.test_client(), "/signup", email=email, password=password)
    assert response.status_code == 400 and message in response.get_data(as_text=True)
    assert _user(ctx, email) is None


def test_password_equal_to_email_is_refused(app) -> None:
    email = unique_email("same")
    response = post_form(app.test_client(), "/signup", email=email, password=email)
    assert response.status_code == 400 and "email" in response.get_data(as_text=True)


def test_invalid_email_is_refused(app) -> None:
    response = post_form(app.test_client(), "/signup", email="not-an-email", password=PASSWORD)
    assert response.status_code == 400 and "valid email" in response.get_data(as_text=True)


def test_login_answers_the_same_for_wrong_password_and_unknown_email(app) -> None:
    user = sign_up(app, "login")
    wrong = post_form(app.test_client(), "/login", email=user.email, password="not the password")
    unknown = post_form(app.test_client(), "/login", email=unique_email("ghost"), password=PASSWORD)
    assert wrong.status_code == unknown.status_code == 401
    for response in (wrong, unknown):
        assert passwords.WRONG_CREDENTIALS in response.get_data(as_text=True)


def test_login_then_logout_ends_the_session(app) -> None:
    user = sign_up(app, "inout")
    client = app.test_client()
    assert client.get("/").status_code == 302
    response = post_form(client, "/login", email=user.email.upper(), password=PASSWORD)
    assert response.status_code == 302 and client.get("/api/documents").status_code == 200

    token = csrf_from(client.get("/").get_data(as_text=True))
    response = client.post("/logout", data={"csrf_token": token})
    assert response.status_code == 302 and response.headers["Location"] == "/login"
    assert client.get("/").headers["Location"] == "/login"
    assert client.get("/api/documents").status_code == 401


def test_forms_without_the_csrf_token_are_refused(app, ctx) -> None:
    client = app.test_client()
    client.get("/signup")
    email = unique_email("csrf")
    response = client.post("/signup", data={"email": email, "password": PASSWORD})
    assert response.status_code == 403 and "CSRF" in response.get_data(as_text=True)
    assert _user(ctx, email) is None

    user = sign_up(app, "csrf-logout")
    response = user.client.post("/logout", data={"csrf_token": "forged"})
    assert response.status_code == 403 and user.client.get("/api/documents").status_code == 200


def test_session_json_calls_that_change_things_need_the_csrf_header(app, tenant) -> None:
    user = sign_up(app, "csrf-json")
    for headers in ({}, {"X-CSRF-Token": "forged"}):
        response = _web_upload(user, docgen.markdown("en"), "a.md", headers=headers)
        assert response.status_code == 403 and "CSRF" in response.get_json()["error"]
        response = user.client.post("/api/keys", json={"name": "x"}, headers=headers)
        assert response.status_code == 403
    assert user.client.get("/api/documents").get_json()["total"] == 0  # reading needs no token

    created = _web_upload(user, docgen.markdown("en"), "a.md")
    assert created.status_code == 202
    doc_id = created.get_json()["document_id"]
    assert user.client.delete(f"/api/documents/{doc_id}").status_code == 403
    assert user.client.delete(f"/api/documents/{doc_id}", headers=user.headers).status_code == 200


def test_dashboard_uploads_are_recorded_as_web_and_api_key_uploads_as_api(app, tenant) -> None:
    user = sign_up(app, "source")
    doc_id = _web_upload(user, docgen.txt("en", count=5), "notes.txt").get_json()["document_id"]
    assert user.client.get(f"/api/documents/{doc_id}").get_json()["source"] == "web"

    client = app.test_client()
    response = _web_upload(user, docgen.txt("en", count=5), "n.txt", headers=tenant.headers)
    assert response.status_code == 202  # Bearer wins over the session cookie and needs no CSRF token
    api_doc = response.get_json()["document_id"]
    assert client.get(f"/api/documents/{api_doc}", headers=tenant.headers).get_json()["source"] == "api"
    assert client.delete(f"/api/documents/{api_doc}", headers=tenant.headers).status_code == 200


def test_a_session_never_sees_another_tenants_documents(app) -> None:
    alice, bob = sign_up(app, "alice"), sign_up(app, "bob")
    doc_id = _web_upload(bob, docgen.markdown("en"), "bob.md").get_json()["document_id"]
    assert alice.client.get(f"/api/documents/{doc_id}/status").status_code == 404
    assert alice.client.get(f"/api/documents/{doc_id}").status_code == 404
    assert alice.client.delete(f"/api/documents/{doc_id}", headers=alice.headers).status_code == 404
    assert alice.client.get("/api/documents").get_json()["documents"] == []
    assert bob.client.get(f"/api/documents/{doc_id}").status_code == 200


def test_session_cookie_is_httponly_lax_and_secure_over_https(app, settings) -> None:
    from socrate.web import create_app

    plain = app.test_client().get("/login").headers["Set-Cookie"]
    assert "HttpOnly" in plain and "SameSite=Lax" in plain and "Secure" not in plain
    https = app.test_client().get("/login", base_url="https://localhost").headers["Set-Cookie"]
    assert "Secure" in https
    forced = create_app(settings.with_(session_cookie_secure=True)).test_client()
    assert "Secure" in forced.get("/login").headers["Set-Cookie"]


def test_unconfigured_runs_sign_sessions_with_a_random_key_kept_per_data_dir(tmp_path) -> None:
    from socrate.config import Settings
    from socrate.ops.launcher import secret_key_for

    one, two = tmp_path / "one", tmp_path / "two"
    one.mkdir()
    two.mkdir()
    first = secret_key_for(one)
    assert first != Settings.secret_key and len(first) >= 48
    assert secret_key_for(one) == first and secret_key_for(two) != first
    assert (one / "secret-key").stat().st_mode & 0o777 == 0o600


def test_pages_send_visitors_to_login_and_errors_are_pages_not_json(app) -> None:
    client = app.test_client()
    for path in ("/", "/keys", "/webhooks", "/telegram"):
        assert client.get(path).headers["Location"] == "/login"
    missing = client.get("/no-such-page")
    assert missing.status_code == 404 and missing.mimetype == "text/html"
    assert client.get("/api/no-such-thing").get_json() == {"error": "Not found"}


def test_password_hashes_are_salted_scrypt_and_reject_anything_else() -> None:
    first, second = passwords.hash_password(PASSWORD), passwords.hash_password(PASSWORD)
    assert first != second and first.startswith(f"scrypt${passwords.SCRYPT_N}$")
    assert passwords.verify_password(first, PASSWORD) and passwords.verify_password(second, PASSWORD)
    assert not passwords.verify_password(first, PASSWORD + "!")
    for stored in ("", "plaintext", "bcrypt$1$2$3$c2FsdA==$aGFzaA==", "scrypt$x$8$1$c2FsdA==$aGFzaA=="):
        assert not passwords.verify_password(stored, PASSWORD)
