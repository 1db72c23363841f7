"""The admin CLI: every command through main(argv) or a real `python -m socrate` process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import timedelta

import pytest
from sqlalchemy import update

from tests import docgen
from tests.conftest import upload, wait_done
from tests.web_server import ROOT, Gunicorn

COMMANDS = [
    [], ["tenant"], ["tenant", "create"], ["tenant", "list"], ["apikey"], ["apikey", "create"],
    ["apikey", "revoke"], ["documents"], ["documents", "list"], ["documents", "reprocess"], ["failed"],
    ["failed", "list"], ["failed", "retry"], ["stats"], ["cleanup"], ["selftest"], ["migrate"], ["serve"],
]  # fmt: skip


def cli(capsys, *argv: str) -> tuple[int, str, str]:
    from socrate.cli import main

    capsys.readouterr()
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c) or "root")
def test_every_command_explains_itself(capsys, command) -> None:
    from socrate.cli import main

    with pytest.raises(SystemExit) as exit_:
        main([*command, "--help"])
    out = capsys.readouterr().out
    assert exit_.value.code == 0
    assert (
        out.startswith("usage: python -m socrate") and len(out.split("\n\n")) >= 3
    )  # usage, description, options


def test_tenant_create_then_list_shows_it_with_its_key(capsys, settings) -> None:
    code, out, _ = cli(capsys, "tenant", "create", "Listed Co")
    created = json.loads(out)
    assert code == 0 and created["api_key"].startswith("sk_")
    code, out, _ = cli(capsys, "tenant", "list", "--json")
    row = next(t for t in json.loads(out) if t["tenant_id"] == created["tenant_id"])
    assert code == 0 and row["name"] == "Listed Co" and row["api_keys"] == 1 and row["documents"] == 0
    code, out, _ = cli(capsys, "tenant", "list")
    assert code == 0 and out.startswith("TENANT_ID") and created["tenant_id"] in out


def test_apikey_create_works_and_revoke_by_prefix_refuses_it(capsys, client, tenant) -> None:
    code, out, _ = cli(capsys, "apikey", "create", tenant.id, "--name", "ops")
    issued = json.loads(out)
    assert code == 0 and issued["tenant_id"] == tenant.id
    headers = {"Authorization": f"Bearer {issued['api_key']}"}
    assert client.get("/api/documents", headers=headers).status_code == 200

    code, out, _ = cli(capsys, "apikey", "revoke", issued["prefix"])
    assert code == 0 and json.loads(out)["revoked"] == issued["id"]
    assert client.get("/api/documents", headers=headers).status_code == 401
    assert (
        client.get("/api/documents", headers=tenant.headers).status_code == 200
    )  # the other key still works


def test_apikey_commands_report_unknown_ids(capsys, settings) -> None:
    assert cli(capsys, "apikey", "create", "no-such-tenant")[::2] == (1, "error: tenant not found\n")
    assert cli(capsys, "apikey", "revoke", "sk_000000000000")[::2] == (1, "error: API key not found\n")


def test_documents_list_filters_and_reprocess_encodes_again(
    capsys, client, tenant, other_tenant, worker
) -> None:
    doc_id = upload(client, tenant, docgen.txt("en", count=3), "cli.txt").get_json()["document_id"]
    other_id = upload(client, other_tenant, docgen.txt("en", count=2), "other.txt").get_json()["document_id"]
    assert wait_done(client, tenant, doc_id)[0]["status"] == "ready"
    wait_done(client, other_tenant, other_id)

    code, out, _ = cli(capsys, "documents", "list", "--tenant", tenant.id, "--status", "ready", "--json")
    assert code == 0 and [d["document_id"] for d in json.loads(out)] == [doc_id]
    assert (
        json.loads(cli(capsys, "documents", "list", "--tenant", tenant.id, "--status", "failed", "--json")[1])
        == []
    )
    code, out, _ = cli(capsys, "documents", "list")
    assert code == 0 and doc_id in out and other_id in out

    code, out, _ = cli(capsys, "documents", "reprocess", doc_id)
    assert code == 0 and out == f"{doc_id}: queued\n"
    final, seen = wait_done(client, tenant, doc_id)
    assert final["status"] == "ready" and seen[0]["status"] in ("queued", "processing")
    code, out, _ = cli(capsys, "documents", "reprocess", other_id, "not-a-document")
    assert code == 1 and out == f"{other_id}: queued\nnot-a-document: not found\n"
    assert wait_done(client, other_tenant, other_id)[0]["status"] == "ready"


def test_stats_counts_statuses_tenants_and_queues(capsys, ctx) -> None:
    from socrate.ops import operators

    with ctx.sessions() as session:
        expected = operators.stats(session)
    code, out, _ = cli(capsys, "stats", "--json")
    report = json.loads(out)
    assert (
        code == 0
        and report["documents"] == expected["documents"]
        and report["tenants"] == expected["tenants"]
    )
    assert set(report["queues"]) == {"documents", "maintenance"} and report["bytes"] == expected["bytes"]
    code, out, _ = cli(capsys, "stats")
    assert code == 0 and f"tenants: {expected['tenants']}" in out and "queues: documents=" in out


def test_cleanup_dry_run_lists_without_removing_and_cleanup_removes(capsys, client, ctx, tenant) -> None:
    from socrate.db.models import Document, utcnow

    doc_id = upload(client, tenant, docgen.txt("en", count=2), "old.txt").get_json()["document_id"]
    with ctx.sessions() as session:
        session.execute(update(Document).where(Document.id == doc_id).values(
            status="failed", updated_at=utcnow() - timedelta(days=400)))  # fmt: skip
        session.commit()

    code, out, _ = cli(capsys, "cleanup", "--dry-run")
    assert code == 0 and "documents: would remove" in out and f"  {doc_id}\n" in out
    assert client.get(f"/api/documents/{doc_id}", headers=tenant.headers).status_code == 200

    code, out, _ = cli(capsys, "cleanup", "--json")
    assert code == 0 and doc_id in json.loads(out)["documents_removed"]
    assert client.get(f"/api/documents/{doc_id}", headers=tenant.headers).status_code == 404


def _selftest(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "socrate", "selftest", *args], cwd=ROOT,
                          env={**os.environ, **env}, capture_output=True, text=True, timeout=400)  # fmt: skip


def test_selftest_passes_every_step_against_a_running_deployment(services, ctx, worker, tmp_path) -> None:
    from socrate.accounts import tenants

    with ctx.sessions() as session:
        before = tenants.count(session)
    web = Gunicorn(services, tmp_path / "web.log").start()
    try:
        result = _selftest(services, "--url", web.url)
    finally:
        web.stop()
    assert result.returncode == 0, (result.stdout, result.stderr, web.log()[-3000:])
    steps = [line for line in result.stdout.splitlines() if line[:1] in "✓✗"]
    assert [s.split(":")[0] for s in steps] == [
        "✓ database reachable", "✓ Redis reachable", "✓ a worker answers", "✓ web API answers",
        "✓ API key", "✓ sample uploaded", "✓ sample processed to ready", "✓ outputs present in storage",
        "✓ sample deleted",
    ]  # fmt: skip
    assert "selftest passed" in result.stdout and "temporary tenant" in result.stdout
    assert "100%" in result.stderr  # the progress bar followed the sample to the end
    with ctx.sessions() as session:
        assert tenants.count(session) == before  # the temporary tenant is gone


def test_selftest_stops_at_the_worker_step_when_no_worker_answers(isolated_stack) -> None:
    """A private broker that no worker consumes: database and Redis pass, the worker step fails."""
    result = _selftest(isolated_stack.env, "--url", "http://127.0.0.1:9", "--worker-timeout", "1")
    assert result.returncode == 1, result.stdout
    lines = result.stdout.splitlines()
    assert lines[0].startswith("✓ database reachable") and lines[1].startswith("✓ Redis reachable")
    assert lines[2] == "✗ a worker answers: no documents worker answered within 1 s"
    assert len([line for line in lines if line[:1] in "✓✗"]) == 3


def test_selftest_with_a_refused_key_fails_at_the_key_step(services, tmp_path, worker) -> None:
    web = Gunicorn(services, tmp_path / "web.log").start()
    try:
        result = _selftest(services, "--url", web.url, "--api-key", "sk_000000000000_nope")
    finally:
        web.stop()
    assert result.returncode == 1
    assert result.stdout.splitlines()[-1] == "✗ API key: the key was refused (401: Invalid API key)"
