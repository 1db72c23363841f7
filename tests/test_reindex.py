"""Upgrading a deployment whose documents were encoded before search moved into the database."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from alembic import command
from sqlalchemy import insert, update

from socrate import context, search
from socrate.accounts import tenants
from socrate.config import Settings
from socrate.db import migrate
from socrate.db.models import Document, utcnow
from socrate.encoding.factory import get_encoder
from tests import docgen
from tests.conftest import search_rows
from tests.databases import empty_database
from tests.processes import ROOT

KEY = "The spare key to the boathouse Vellmor is hidden under the blue flowerpot."
CHIAVE = "La chiave di riserva del mulino Castelbri è nascosta sotto il gradino di legno."
CODE = "The alarm code of the observatory Rantel is DUMOR-17."


def _encoded_document(
    ctx, tenant_id: str, language: str, count: int, needle: str, *, with_windows: bool
) -> str:
    """A ready document as the previous version left it: a row and memvid's outputs in storage."""
    encoder = get_encoder()
    text = docgen.txt(language, count=count, needle=needle).decode()
    # Only the columns that version had: a Core INSERT names just these (the model has grown since).
    row = dict(tenant_id=tenant_id, title="t", filename=f"{language}.txt", source="api",
               content_type="text/plain", file_kind="txt", size_bytes=len(text), sha256="0" * 64,
               storage_key="unused", status="ready", progress=100, message="Ready", language=language,
               task_state="SUCCESS", processed_at=utcnow())  # fmt: skip
    with ctx.sessions() as session:
        doc_id = session.execute(insert(Document).values(**row).returning(Document.id)).scalar_one()
        folder = f"tenants/{tenant_id}/documents/{doc_id}/memvid"
        chunks = encoder.chunk(text, 1200, 200)
        memory = encoder.encode(chunks.texts, ctx.settings.storage_dir / folder, lambda done, total: None)
        outputs = {"index": f"{folder}/{memory.index_file}", "metadata": f"{folder}/{memory.metadata_file}"}
        if with_windows:
            outputs["windows"] = f"{folder}/{memory.windows_file}"
        else:  # encoded before windows existed: memvid's one vector per chunk is all there is
            (ctx.settings.storage_dir / folder / str(memory.windows_file)).unlink()
        recorded = {"outputs": outputs, "total_chunks": memory.chunks}
        session.execute(update(Document).where(Document.id == doc_id).values(**recorded))
        session.commit()
        return str(doc_id)


def _reindex(env: dict[str, str], *args: str) -> str:
    result = subprocess.run([sys.executable, "-m", "socrate", "reindex", *args], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=300)  # fmt: skip
    assert result.returncode == 0, result.stderr
    return result.stdout.strip().splitlines()[-1]


def test_reindex_fills_search_rows_from_the_previous_versions_outputs(services, tmp_path: Path) -> None:
    with empty_database(services["DATABASE_URL"], "upgrade") as url:
        command.upgrade(migrate.alembic_config(url), "0003")  # the schema the previous version left
        env = {
            "DATABASE_URL": url,
            "SOCRATE_DATA_DIR": str(tmp_path),
            "PATH": "/usr/bin:/bin",
            "HF_HUB_OFFLINE": "1",
        }
        settings = Settings.from_env(env)
        ctx = context.build(settings)
        with ctx.sessions() as session:
            first, _ = tenants.create(session, "first", settings)
            second, _ = tenants.create(session, "second", settings)
        docs = [
            _encoded_document(ctx, first.id, "en", 12, KEY, with_windows=True),
            _encoded_document(ctx, first.id, "it", 5, CHIAVE, with_windows=False),
            _encoded_document(ctx, second.id, "en", 3, CODE, with_windows=True),
        ]
        migrate.upgrade(url)
        assert search.search(ctx, first.id, "Where is the spare key of the boathouse?").results == []

        summary = _reindex(env, "--tenant", first.id)
        written = search_rows(ctx, docs[0])[0] + search_rows(ctx, docs[1])[0]
        assert summary == f"reindexed 2 documents ({written} chunks); 0 failed"
        found = search.search(ctx, first.id, "Where is the spare key of the Vellmor boathouse hidden?", k=1)
        assert found.results[0].document_id == docs[0] and "blue flowerpot" in found.results[0].snippet
        found = search.search(ctx, first.id, "Dove si trova la chiave di scorta del mulino Castelbri?", k=1)
        assert found.results[0].document_id == docs[1] and "gradino di legno" in found.results[0].snippet
        assert search_rows(ctx, docs[2]) == (0, 0)  # another tenant: not this run's business

        summary = _reindex(env)  # resumes with what is left
        assert summary == f"reindexed 1 documents ({search_rows(ctx, docs[2])[0]} chunks); 0 failed"
        assert _reindex(env) == "nothing to reindex: every ready document has its search rows"
        chunks, windows = search_rows(ctx, docs[1])
        assert chunks == windows  # memvid's one vector per chunk became one window each
        ctx.dispose()
