"""API keys from the dashboard: created once, listed by prefix and last use, revoked for good."""

from __future__ import annotations

from sqlalchemy import inspect

from socrate.config import Settings
from socrate.db import make_engine, migrate
from tests.databases import empty_database
from tests.web_session import sign_up


def test_create_list_and_revoke_a_key(app) -> None:
    user = sign_up(app, "keys")
    created = user.client.post("/api/keys", json={"name": "backup script"}, headers=user.headers)
    assert created.status_code == 201
    body = created.get_json()
    key = body["key"]
    assert key.startswith(body["prefix"] + "_") and body["name"] == "backup script"

    listed = user.client.get("/api/keys").get_json()["keys"]
    assert [k["id"] for k in listed] == [body["id"]]
    assert listed[0]["last_used_at"] is None and "key" not in listed[0] and "key_hash" not in listed[0]

    bearer = {"Authorization": f"Bearer {key}"}
    api = app.test_client()
    assert api.get("/api/documents", headers=bearer).status_code == 200
    assert user.client.get("/api/keys").get_json()["keys"][0]["last_used_at"] is not None

    revoked = user.client.delete(f"/api/keys/{body['id']}", headers=user.headers)
    assert revoked.status_code == 200
    assert api.get("/api/documents", headers=bearer).status_code == 401  # not served from the cache
    assert user.client.get("/api/keys").get_json()["keys"] == []


def test_blank_key_name_is_refused(app) -> None:
    user = sign_up(app, "blank")
    response = user.client.post("/api/keys", json={"name": "   "}, headers=user.headers)
    assert response.status_code == 400 and "name" in response.get_json()["error"]


def test_other_tenant_gets_404_when_revoking_a_key(app) -> None:
    owner = sign_up(app, "owner")
    key_id = owner.client.post("/api/keys", json={"name": "mine"}, headers=owner.headers).get_json()["id"]
    intruder = sign_up(app, "intruder")
    assert intruder.client.delete(f"/api/keys/{key_id}", headers=intruder.headers).status_code == 404
    assert [k["id"] for k in owner.client.get("/api/keys").get_json()["keys"]] == [key_id]


def test_an_api_key_cannot_list_mint_or_revoke_keys(app, tenant) -> None:
    """Otherwise a leaked key could mint a fresh one and outlive its own revocation."""
    client = app.test_client()
    for method, path in [("get", "/api/keys"), ("post", "/api/keys"), ("delete", "/api/keys/anything")]:
        response = getattr(client, method)(path, headers=tenant.headers, json={"name": "x"})
        assert response.status_code == 403 and "dashboard" in response.get_json()["error"]
    assert client.get("/api/documents", headers=tenant.headers).status_code == 200


def test_accounts_migration_adds_and_drops_password_hash(services) -> None:
    with empty_database(services["DATABASE_URL"], "accounts") as url:
        _upgrade_and_downgrade(url)


def _upgrade_and_downgrade(url: str) -> None:
    migrate.upgrade(url)
    engine = make_engine(url)
    assert "password_hash" in {c["name"] for c in inspect(engine).get_columns("users")}
    migrate.downgrade_to_base(url)
    assert "users" not in inspect(engine).get_table_names()
    engine.dispose()


def test_session_cookie_secure_setting_accepts_true_false_and_auto() -> None:
    for raw, expected in [("true", True), ("0", False), ("auto", None), ("", None)]:
        assert Settings.from_env({"SESSION_COOKIE_SECURE": raw}).session_cookie_secure is expected
