"""Admin CLI: ``python -m socrate tenant create NAME`` | ``migrate`` | ``serve``."""

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
    sub.add_parser("migrate", help="apply database migrations").set_defaults(func=_migrate)
    sub.add_parser("serve", help="run web, worker and beat on embedded defaults").set_defaults(func=_serve)
    args = parser.parse_args(argv)
    return args.func(args, Settings.from_env())


if __name__ == "__main__":
    sys.exit(main())
