"""Alembic environment: URL from Settings (or the caller's config), metadata from models."""

import re
from typing import Any

from alembic import context

from socrate.config import Settings
from socrate.db import (
    Base,
    make_engine,
    models,  # noqa: F401  (registers tables on Base.metadata)
)

config = context.config
url = config.get_main_option("sqlalchemy.url") or Settings.from_env().database_url
PARTITION = re.compile(r"windows_\d+")
HNSW_INDEX = "ix_windows_embedding"  # on an expression (a halfvec cast), which autogenerate cannot compare


def include_object(obj: Any, name: str | None, kind: str, reflected: bool, compare_to: Any) -> bool:
    """Leave out of comparisons what migration 0004 makes in SQL and the models cannot describe: the
    windows table's hash partitions (and their indexes) and its HNSW index."""
    table = obj.table.name if kind == "index" else name
    return not (PARTITION.fullmatch(table or "") or (kind == "index" and name == HNSW_INDEX))


def run() -> None:
    if context.is_offline_mode():
        context.configure(url=url, target_metadata=Base.metadata, literal_binds=True)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = make_engine(url)
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=Base.metadata, include_object=include_object)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


run()
