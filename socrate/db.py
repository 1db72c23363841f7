"""Engine, session factory and declarative Base; one engine per process."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker


class Base(DeclarativeBase):
    """Declarative base for every Socrate model."""


def make_engine(database_url: str, *, autocommit: bool = False) -> Engine:
    """Create an engine; SQLite gets WAL and a busy timeout so web and worker can share it.

    ``autocommit`` engines serve single-statement reads on hot paths (no BEGIN/ROLLBACK trips).
    """
    options = {"isolation_level": "AUTOCOMMIT"} if autocommit else {}
    if database_url.startswith("sqlite"):
        engine = create_engine(
            database_url, connect_args={"timeout": 30, "check_same_thread": False}, **options
        )

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record) -> None:  # type: ignore[no-untyped-def]
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")  # WAL-safe; avoids an fsync per progress write
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()

        return engine
    # No pool_pre_ping: it doubles the round trips of every status poll. A connection broken by a
    # database restart fails one request (503), SQLAlchemy then invalidates the pool.
    return create_engine(database_url, pool_size=5, max_overflow=5, pool_recycle=1800, **options)


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
