"""Admin CLI: ``python -m socrate <command> --help``. Thin: parse, call a service, print."""

from __future__ import annotations

import argparse
import sys

from socrate import logs
from socrate.cli import admin, selftest
from socrate.config import Settings
from socrate.db import embedded
from socrate.documents.lifecycle import Status
from socrate.errors import SocrateError


def _json_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="machine-readable JSON instead of a table")


def _tenant(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    actions = sub.add_parser("tenant", help="create and list tenants", description="Create and list tenants.")
    tenant = actions.add_subparsers(dest="action", required=True, metavar="{create,list}")
    create = tenant.add_parser(
        "create", help="create a tenant and print its first API key",
        description="Create a tenant with default quotas; print its id and first API key (shown once).",
    )  # fmt: skip
    create.add_argument("name", help="the tenant's display name")
    create.set_defaults(func=admin.tenant_create)
    listing = tenant.add_parser(
        "list", help="every tenant with its documents, bytes and keys",
        description="Every tenant, oldest first: document count, stored bytes, usable API keys.",
    )  # fmt: skip
    _json_flag(listing)
    listing.set_defaults(func=admin.tenant_list)


def _apikey(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    actions = sub.add_parser(
        "apikey", help="issue or revoke API keys", description="Issue or revoke API keys."
    )
    apikey = actions.add_subparsers(dest="action", required=True, metavar="{create,revoke}")
    create = apikey.add_parser(
        "create", help="issue a key for a tenant (printed once)",
        description="Issue a new API key for a tenant. The key is printed once; only its hash is stored.",
    )  # fmt: skip
    create.add_argument("tenant_id")
    create.add_argument("--name", default="cli", help="a label shown in the dashboard (default: cli)")
    create.set_defaults(func=admin.apikey_create)
    revoke = apikey.add_parser(
        "revoke", help="revoke a key by prefix or id",
        description="Revoke a key of any tenant, refused from the next request on. Give its id, its "
        "prefix as the dashboard shows it (sk_0123abcd4567) or the whole key.",
    )  # fmt: skip
    revoke.add_argument("key", metavar="key_prefix_or_id")
    revoke.set_defaults(func=admin.apikey_revoke)


def _documents(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    actions = sub.add_parser(
        "documents", help="list or reprocess documents across tenants",
        description="List or reprocess documents of any tenant.",
    )  # fmt: skip
    docs = actions.add_subparsers(dest="action", required=True, metavar="{list,reprocess}")
    listing = docs.add_parser(
        "list", help="newest documents, optionally of one tenant or status",
        description="The newest documents across tenants (or of one), optionally with one status.",
    )  # fmt: skip
    listing.add_argument("--tenant", help="only this tenant id")
    statuses = [str(status) for status in Status]
    listing.add_argument("--status", choices=statuses, help="only documents with this status")
    listing.add_argument("--limit", type=int, default=100, help="at most this many (default 100)")
    _json_flag(listing)
    listing.set_defaults(func=admin.documents_list)
    again = docs.add_parser(
        "reprocess", help="queue documents to be encoded again",
        description="Queue ready, failed or cancelled documents to be extracted and encoded again (e.g. "
        "after changing chunking). Queued or processing ones are left alone. Exits 1 unless all were queued.",
    )  # fmt: skip
    again.add_argument("ids", nargs="+", metavar="document_id")
    again.set_defaults(func=admin.documents_reprocess)


def _failed(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    actions = sub.add_parser(
        "failed", help="failed documents across tenants (dead-letter view)",
        description="Failed documents across tenants, like a dead-letter queue.",
    )  # fmt: skip
    failed = actions.add_subparsers(dest="action", required=True, metavar="{list,retry}")
    listing = failed.add_parser(
        "list", help="counts by error and the newest failures",
        description="Failed documents counted by error, and the newest of them (JSON).",
    )  # fmt: skip
    listing.add_argument("--limit", type=int, default=100)
    listing.set_defaults(func=admin.failed)
    again = failed.add_parser("retry", help="queue failed documents again",
                              description="Queue failed documents again with fresh attempts.")  # fmt: skip
    again.add_argument("ids", nargs="*", help="document ids")
    again.add_argument("--all", action="store_true", help="every failed document")
    again.set_defaults(func=admin.failed)


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(
        prog="python -m socrate",
        description="Socrate admin. Reads the same environment as the services (DATABASE_URL, REDIS_URL, "
        "STORAGE_*): run it where they run, e.g. `railway run python -m socrate stats`.",
    )
    sub = root.add_subparsers(dest="command", required=True)
    _tenant(sub)
    _apikey(sub)
    _documents(sub)
    _failed(sub)
    stats = sub.add_parser(
        "stats", help="documents by status, bytes, tenants, queue depth",
        description="Documents by status, stored bytes, tenants, and tasks waiting in each Celery queue.",
    )  # fmt: skip
    _json_flag(stats)
    stats.set_defaults(func=admin.stats)
    cleanup = sub.add_parser(
        "cleanup", help="run Beat's cleanup now (or --dry-run to see what it would remove)",
        description="What the hourly Beat cleanup removes: failed/cancelled documents past "
        "FAILED_RETENTION_DAYS, documents past a tenant's retention, orphaned folders and stale "
        "partial outputs older than an hour, expired Telegram link codes. Queued and processing "
        "documents are never touched.",
    )  # fmt: skip
    cleanup.add_argument("--dry-run", action="store_true", help="list what would be removed, remove nothing")
    _json_flag(cleanup)
    cleanup.set_defaults(func=admin.cleanup)
    selftest.add_parser(sub)
    sub.add_parser("migrate", help="apply database migrations (release step)",
                   description="Create the extensions search needs (pgvector, unaccent, btree_gin), then "
                   "alembic upgrade head.").set_defaults(func=admin.migrate_db)  # fmt: skip
    again = sub.add_parser(
        "reindex", help="fill search rows for documents encoded before search moved into the database",
        description="After upgrading from a version that searched files (memvid outputs): write the chunk "
        "and window rows of every ready document that has none, from its stored outputs. Resumable and "
        "idempotent: each document is one transaction; a second run finds nothing to do. Exits 1 if some "
        "document's outputs were unreadable (re-encode those).",
    )  # fmt: skip
    again.add_argument("--tenant", help="only this tenant id")
    again.set_defaults(func=admin.reindex)
    sub.add_parser("serve", help="run web, worker and beat on embedded defaults",
                   description="What scripts/run starts: web, worker and Beat as child processes (and the "
                   "embedded PostgreSQL and Redis when DATABASE_URL and REDIS_URL are unset).",
                   ).set_defaults(func=admin.serve)  # fmt: skip
    return root


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        settings = Settings.from_env()
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    logs.configure(settings.with_(log_level="WARNING"))  # command output, not chatter, on the terminal
    try:
        with embedded.database(settings) as with_database:
            return int(args.func(args, with_database))
    except SocrateError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
    except embedded.EmbeddedPostgresError as exc:
        print(f"error: {exc}", file=sys.stderr)
    return 1
