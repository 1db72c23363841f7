"""Admin CLI: ``python -m socrate tenant create NAME`` | ``failed list|retry`` | ``migrate`` | ``serve``."""

from __future__ import annotations

import argparse
import json
import sys

from socrate import context, migrate, tenants
from socrate.config import Settings
from socrate.db import session_scope


def _tenant_create(args: argparse.Namespace, settings: Settings) -> int:
    ctx = context.build(settings)
    with session_scope(ctx.sessions) as session:
        tenant, key = tenants.create(session, args.name, settings)
    print(json.dumps({"tenant_id": tenant.id, "api_key": key}))
    return 0


def _failed(args: argparse.Namespace, settings: Settings) -> int:
    from celery_config import make_celery
    from socrate import operators
    from socrate.queue import TaskQueue

    ctx = context.build(settings)
    with session_scope(ctx.sessions) as session:
        if args.action == "list":
            print(json.dumps(operators.failed_report(session, limit=args.limit), indent=2))
            return 0
        if not args.all and not args.ids:
            print("give document ids, or --all", file=sys.stderr)
            return 2
        queue = TaskQueue(make_celery(settings))
        retried = operators.retry_failed(session, queue, None if args.all else args.ids)
    print(json.dumps({"retried": retried}))
    return 0


def _migrate(_args: argparse.Namespace, settings: Settings) -> int:
    migrate.upgrade(settings.database_url)
    return 0


def _serve(_args: argparse.Namespace, settings: Settings) -> int:
    from socrate.launcher import serve

    return serve(settings)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m socrate", description="Socrate admin")
    sub = parser.add_subparsers(dest="command", required=True)
    tenant = sub.add_parser("tenant", help="manage tenants").add_subparsers(dest="action", required=True)
    create = tenant.add_parser("create", help="create a tenant and print its first API key")
    create.add_argument("name")
    create.set_defaults(func=_tenant_create)
    failed = sub.add_parser("failed", help="failed documents across tenants (dead-letter view)")
    failed_sub = failed.add_subparsers(dest="action", required=True)
    listing = failed_sub.add_parser("list", help="counts by error and the newest failures")
    listing.add_argument("--limit", type=int, default=100)
    listing.set_defaults(func=_failed)
    again = failed_sub.add_parser("retry", help="queue failed documents again")
    again.add_argument("ids", nargs="*", help="document ids")
    again.add_argument("--all", action="store_true", help="every failed document")
    again.set_defaults(func=_failed)
    sub.add_parser("migrate", help="apply database migrations").set_defaults(func=_migrate)
    sub.add_parser("serve", help="run web, worker and beat on embedded defaults").set_defaults(func=_serve)
    args = parser.parse_args(argv)
    return args.func(args, Settings.from_env())


if __name__ == "__main__":
    sys.exit(main())
