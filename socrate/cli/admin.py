"""Admin commands: each opens a session, calls one service, prints a table (or JSON) and an exit code."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from socrate import context
from socrate.accounts import apikeys, tenants
from socrate.config import Settings
from socrate.context import Context
from socrate.db import migrate, session_scope
from socrate.ops import maintenance, metrics, operators
from socrate.search import reindex as search_reindex
from socrate.taskqueue import TaskQueue


def _ctx(settings: Settings) -> Context:
    return context.build(settings)


def _queue(settings: Settings) -> TaskQueue:
    return TaskQueue.for_settings(settings)


def table(rows: Sequence[dict[str, Any]], columns: Sequence[str]) -> str:
    """Plain aligned columns (never truncated: ids must stay copyable)."""
    cells = [[str("" if row.get(col) is None else row.get(col)) for col in columns] for row in rows]
    widths = [max([len(col)] + [len(r[i]) for r in cells]) for i, col in enumerate(columns)]
    lines = ["  ".join(col.upper().ljust(w) for col, w in zip(columns, widths, strict=True)).rstrip()]
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in cells]
    return "\n".join(lines)


def emit(args: argparse.Namespace, data: Any, rows: Sequence[dict[str, Any]], columns: Sequence[str]) -> None:
    print(json.dumps(data, indent=2) if args.json else table(rows, columns))


def tenant_create(args: argparse.Namespace, settings: Settings) -> int:
    with session_scope(_ctx(settings).sessions) as session:
        tenant, key = tenants.create(session, args.name, settings)
    print(json.dumps({"tenant_id": tenant.id, "api_key": key}))
    return 0


def tenant_list(args: argparse.Namespace, settings: Settings) -> int:
    with session_scope(_ctx(settings).sessions) as session:
        rows = tenants.overview(session)
    emit(args, rows, rows, ("tenant_id", "name", "documents", "bytes", "api_keys", "created_at"))
    return 0


def apikey_create(args: argparse.Namespace, settings: Settings) -> int:
    with session_scope(_ctx(settings).sessions) as session:
        tenants.get(session, args.tenant_id)
        row, key = apikeys.create(session, args.tenant_id, args.name)
        print(
            json.dumps(
                {"id": row.id, "tenant_id": row.tenant_id, "prefix": f"sk_{row.prefix}", "api_key": key}
            )
        )
    return 0


def apikey_revoke(args: argparse.Namespace, settings: Settings) -> int:
    with session_scope(_ctx(settings).sessions) as session:
        row = apikeys.revoke_by_operator(session, args.key)
        print(json.dumps({"revoked": row.id, "tenant_id": row.tenant_id, "prefix": f"sk_{row.prefix}"}))
    return 0


def documents_list(args: argparse.Namespace, settings: Settings) -> int:
    with session_scope(_ctx(settings).sessions) as session:
        rows = operators.list_documents(session, tenant_id=args.tenant, status=args.status, limit=args.limit)
    emit(
        args,
        rows,
        rows,
        ("document_id", "tenant_id", "status", "progress", "size_bytes", "filename", "created_at"),
    )
    return 0


def documents_reprocess(args: argparse.Namespace, settings: Settings) -> int:
    with session_scope(_ctx(settings).sessions) as session:
        results = operators.reprocess(session, _queue(settings), args.ids)
    for doc_id, outcome in results.items():
        print(f"{doc_id}: {outcome}")
    return 0 if all(outcome == "queued" for outcome in results.values()) else 1


def failed(args: argparse.Namespace, settings: Settings) -> int:
    with session_scope(_ctx(settings).sessions) as session:
        if args.action == "list":
            print(json.dumps(operators.failed_report(session, limit=args.limit), indent=2))
            return 0
        if not args.all and not args.ids:
            print("give document ids, or --all", file=sys.stderr)
            return 2
        retried = operators.retry_failed(session, _queue(settings), None if args.all else args.ids)
    print(json.dumps({"retried": retried}))
    return 0


def stats(args: argparse.Namespace, settings: Settings) -> int:
    with session_scope(_ctx(settings).sessions) as session:
        report = operators.stats(session)
    report["queues"] = metrics.queue_depths(settings.redis_url) if settings.redis_url else None
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    print(f"tenants: {report['tenants']}")
    print(f"documents: {report['documents_total']} ({report['bytes']} bytes stored)")
    for status, n in report["documents"].items():
        print(f"  {status}: {n}")
    spent = report["model_usage_today"]
    print(f"model tokens today (UTC): {len(spent)} tenant(s) asked")
    for tenant_id, day in spent.items():
        tokens = f"{day['prompt_tokens']} prompt + {day['completion_tokens']} completion tokens"
        print(f"  {tenant_id}: {day['questions']} questions, {tokens}")
    if report["queues"] is None:
        print("queues: unknown (REDIS_URL is not set)")
    else:
        print("queues: " + ", ".join(f"{name}={depth}" for name, depth in report["queues"].items()))
    return 0


def cleanup(args: argparse.Namespace, settings: Settings) -> int:
    found = maintenance.sweep(_ctx(settings), dry_run=args.dry_run)
    if found is None:
        print("another cleanup is running; nothing done", file=sys.stderr)
        return 1
    verb = "would remove" if args.dry_run else "removed"
    if args.json:
        print(json.dumps({"dry_run": args.dry_run, **found}, indent=2))
        return 0
    for kind, items in found.items():
        print(f"{kind.removesuffix('_removed')}: {verb} {len(items)}")
        for item in items:
            print(f"  {item}")
    return 0


def reindex(args: argparse.Namespace, settings: Settings) -> int:
    """Search rows for documents encoded before search moved into the database (resumable)."""
    ctx = _ctx(settings)
    with session_scope(ctx.sessions) as session:
        todo = search_reindex.pending(session, args.tenant)
    if not todo:
        print("nothing to reindex: every ready document has its search rows")
        return 0
    indexed, chunks, failed = 0, 0, []
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=Console(stderr=True)) as bar:
        task = bar.add_task("Reindexing", total=len(todo))
        for tenant_id, document_id in todo:
            try:
                found = search_reindex.reindex_document(ctx, tenant_id, document_id)
            except (OSError, ValueError, KeyError) as exc:
                failed.append((document_id, f"{type(exc).__name__}: {exc}"))
            else:
                indexed += found is not None
                chunks += found or 0
            bar.advance(task)
    print(f"reindexed {indexed} documents ({chunks} chunks); {len(failed)} failed")
    for document_id, reason in failed:
        print(
            f"  {document_id}: {reason} (re-encode it: python -m socrate documents reprocess {document_id})"
        )
    return 1 if failed else 0


def migrate_db(_args: argparse.Namespace, settings: Settings) -> int:
    migrate.upgrade(settings.database_url)
    return 0


def serve(_args: argparse.Namespace, settings: Settings) -> int:
    from socrate.ops.launcher import serve as run

    return run(settings)
