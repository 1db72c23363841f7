"""Engine, session factory and declarative Base; one engine per process, PostgreSQL only."""

from __future__ import annotations

import os
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

# Per search connection: how hard pgvector's HNSW index looks (ef_search bounds the candidates one scan
# returns; iterative scans keep walking the graph until enough rows pass the tenant filter, pgvector
# >= 0.8), and no sequential scans: the planner prices a scan of ``chunks`` without the TOAST reads of
# every tsvector, so for a question whose words are all rare in its statistics it once chose to scan
# 84,000 chunks (700 ms) over the GIN index (1 ms). Every search statement has an index to use.
SEARCH_SETTINGS = (
    "SET hnsw.ef_search = 40",
    "SET hnsw.iterative_scan = relaxed_order",
    "SET enable_seqscan = off",
)


class Base(DeclarativeBase):
    """Declarative base for every Socrate model."""


def make_engine(database_url: str, *, autocommit: bool = False, search: bool = False) -> Engine:
    """A pooled PostgreSQL engine.

    ``autocommit`` engines serve single-statement reads on hot paths (no BEGIN/ROLLBACK trips);
    ``search`` engines (autocommit too) have SEARCH_SETTINGS on every connection.
    No pool_pre_ping: it doubles the round trips of every status poll. A connection broken by a
    database restart fails one request (503), SQLAlchemy then invalidates the pool.
    """
    if not database_url:
        raise RuntimeError(
            "DATABASE_URL is not set: use scripts/run or python -m socrate (they start the embedded "
            "PostgreSQL) or set it"
        )
    # Autocommit connections hold no transaction, so the pool's ROLLBACK on check-in is skipped.
    options: dict[str, Any] = (
        {"isolation_level": "AUTOCOMMIT", "pool_reset_on_return": None} if autocommit or search else {}
    )
    # gthread web workers run up to WEB_THREADS requests at once; most hold a connection for a few
    # milliseconds, and a wait past pool_timeout answers 503 rather than queueing for half a minute.
    engine = create_engine(
        database_url, pool_size=5, max_overflow=10, pool_timeout=10, pool_recycle=1800, **options
    )
    if search:
        event.listen(engine, "connect", _search_settings)
    # A forked child (gunicorn --preload, Celery prefork) must never reuse its parent's sockets.
    alive = weakref.ref(engine)
    os.register_at_fork(after_in_child=lambda: _forget_pool(alive()))
    return engine


def _forget_pool(engine: Engine | None) -> None:
    if engine is not None:
        engine.dispose(close=False)


def _search_settings(dbapi_conn: Any, _record: Any) -> None:
    cursor = dbapi_conn.cursor()
    for statement in SEARCH_SETTINGS:
        cursor.execute(statement)
    cursor.close()
    dbapi_conn.commit()  # SET ran in the connection's implicit first transaction: keep it


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions keep loaded attributes after commit so services can return rows."""
    return sessionmaker(bind=engine, expire_on_commit=False)


@contextmanager
def session_scope(factory: sessionmaker[Session]) -> Iterator[Session]:
    """Commit on success, roll back on error, always close."""
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
