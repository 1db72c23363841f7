"""Small pure pieces: config parsing, chunk windows, text normalisation, the admin CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from socrate.config import Settings
from socrate.encoding import detect_language
from socrate.processing.extract import decode_text, normalise
from tests import docgen
from tests.processes import ROOT


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("postgres://u:p@db:5432/app", "postgresql+psycopg2://u:p@db:5432/app"),
        ("postgresql://u@db/app", "postgresql+psycopg2://u@db/app"),
    ],
)
def test_railway_database_urls_are_accepted(given, expected) -> None:
    assert Settings.from_env({"DATABASE_URL": given}).database_url == expected


def test_sqlite_urls_are_refused_with_what_to_do_instead() -> None:
    with pytest.raises(ValueError, match="no longer supports: leave DATABASE_URL unset"):
        Settings.from_env({"DATABASE_URL": "sqlite:////tmp/x.db"})


def test_defaults_are_the_embedded_database_and_no_redis(tmp_path) -> None:
    settings = Settings.from_env({"SOCRATE_DATA_DIR": str(tmp_path)})
    assert settings.database_url == ""  # the CLI and the run command start the embedded PostgreSQL
    assert settings.redis_url == "" and settings.storage_dir == tmp_path / "storage"
    assert (settings.chunk_tokens, settings.chunk_overlap) == (1200, 200)


def test_normalise_collapses_layout_whitespace() -> None:
    assert normalise("a  \t b\r\n\r\n\r\n\r\nc \n d\x00") == "a b\n\nc\nd"


@pytest.mark.parametrize(
    ("text", "codec"),
    [
        ("Perché la città è così bella? Perché è antica e piena di storia, più di ogni altra.", "latin-1"),
        ("Voilà un château où l'été est très agréable, dit-elle à sa sœur.", "cp1252"),
        ("Привет, как дела? Это тестовый документ на русском языке, в старой кодировке.", "cp1251"),
        ("Grüße aus München", "utf-8"),
        ("Grüße aus München", "utf-16"),
    ],
)
def test_legacy_encodings_are_decoded(text, codec) -> None:
    assert decode_text(text.encode(codec)) == text


def test_language_detection_is_deterministic() -> None:
    italian = docgen.txt("it").decode()
    assert {detect_language(italian) for _ in range(5)} == {"it"}
    assert detect_language(docgen.txt("en").decode()) == "en"
    assert detect_language("1234 5678") is None


def test_cli_tenant_create_prints_json_with_a_working_key(services, settings, client) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "socrate", "tenant", "create", "CLI Corp"],
        cwd=ROOT, env={**os.environ, **services}, capture_output=True, text=True, check=True,
    )  # fmt: skip
    created = json.loads(out.stdout)
    assert set(created) == {"tenant_id", "api_key"}
    response = client.get("/api/documents", headers={"Authorization": f"Bearer {created['api_key']}"})
    assert response.status_code == 200 and response.get_json()["total"] == 0


def test_migrations_match_the_models(settings) -> None:
    """The schema Alembic builds is exactly what the models describe (no forgotten migration)."""
    from alembic import command

    from socrate.db.migrate import alembic_config

    command.check(alembic_config(settings.database_url))
