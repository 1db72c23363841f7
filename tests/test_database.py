"""The database Socrate needs: refusals that say what to install, a plain external URL, legacy data dirs."""

from __future__ import annotations

import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from bench.stack import running_stack
from socrate.db.embedded import FAST_OPTIONS, EmbeddedPostgres, free_port
from tests import docgen
from tests.databases import empty_database
from tests.processes import ROOT

MACHINE_POSTGRES = "postgresql://postgres@127.0.0.1:5432/postgres"  # PostgreSQL 15, without pgvector


def _migrate(database_url: str) -> subprocess.CompletedProcess[str]:
    env = {"DATABASE_URL": database_url, "PATH": "/usr/bin:/bin", "HF_HUB_OFFLINE": "1"}
    return subprocess.run([sys.executable, "-m", "socrate", "migrate"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)  # fmt: skip


def test_migrate_on_postgres_without_pgvector_says_what_to_install() -> None:
    with empty_database(MACHINE_POSTGRES, "novector") as url:
        result = _migrate(url)
        engine = create_engine(url)
        with engine.connect() as conn:
            tables = conn.execute(text("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")).scalar()
        engine.dispose()
    assert result.returncode == 1 and "Traceback" not in result.stderr
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("error: PostgreSQL at 127.0.0.1:5432/postgres_novector_")
    assert "has no pgvector extension: install pgvector" in line and "Railway" in line
    assert tables == 0  # nothing half-made


def test_migrate_as_a_user_who_may_not_create_extensions_says_who_can(services) -> None:
    admin = create_engine(services["DATABASE_URL"], isolation_level="AUTOCOMMIT")
    role, database = f"app_{uuid.uuid4().hex[:8]}", f"owned_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.execute(text(f"CREATE ROLE {role} LOGIN"))
        conn.execute(text(f"CREATE DATABASE {database} OWNER {role}"))
    try:
        url = make_url(services["DATABASE_URL"]).set(username=role, database=database)
        result = _migrate(url.render_as_string(hide_password=False))
    finally:
        with admin.connect() as conn:
            conn.execute(text(f"DROP DATABASE {database} WITH (FORCE)"))
            conn.execute(text(f"DROP ROLE {role}"))
        admin.dispose()
    assert result.returncode == 1 and "Traceback" not in result.stderr
    [line] = result.stderr.strip().splitlines()
    assert f"/{database}: this user may not create the vector extension" in line
    assert "run `CREATE EXTENSION vector;`" in line


def test_readyz_reports_the_pgvector_extension(client) -> None:
    database = client.get("/readyz").get_json()["components"]["database"]
    assert database["ok"] is True and database["pgvector"].startswith("0.8")


@pytest.mark.slow
def test_a_plain_postgresql_url_over_tcp_runs_the_whole_product(tmp_path) -> None:
    """Any PostgreSQL with pgvector reached by host:port works (here: a second embedded server on TCP)."""
    port = free_port()
    with EmbeddedPostgres(tmp_path / "external", port=port, options=FAST_OPTIONS) as server:
        assert server.url == f"postgresql://postgres@127.0.0.1:{port}/socrate"
        needle = "The harbour master of Tessaline keeps the spare anchor chain in shed nine."
        with running_stack({"DATABASE_URL": server.url, "WEB_CONCURRENCY": "1"}) as stack:
            assert not (stack.data_dir / "postgres").exists()  # no embedded database of its own
            doc_id, _ = stack.upload(docgen.txt("en", count=4, needle=needle), "harbour.txt")
            assert stack.wait(doc_id, poll=0.2)["status"] == "ready"
            found = stack.http.get("/api/search", params={"q": "Where is the spare anchor chain kept?"},
                                   headers=stack.headers).json()  # fmt: skip
            assert (
                found["results"][0]["document_id"] == doc_id and "shed nine" in found["results"][0]["snippet"]
            )


def test_a_data_dir_from_the_sqlite_days_gets_told_what_to_do(tmp_path: Path) -> None:
    (tmp_path / "socrate.db").write_bytes(b"SQLite format 3\x00")
    env = {"SOCRATE_DATA_DIR": str(tmp_path), "PATH": "/usr/bin:/bin"}
    result = subprocess.run([sys.executable, "-m", "socrate", "tenant", "list"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=60)  # fmt: skip
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "kept its data in SQLite" in result.stderr and "move" in result.stderr
    assert not (tmp_path / "postgres").exists()
