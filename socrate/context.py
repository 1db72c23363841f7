"""What every adapter needs at run time, built once per process from Settings."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from socrate.config import Settings, keep_files_private
from socrate.db import make_engine, make_session_factory
from socrate.storage import Storage
from socrate.storage import build as build_storage


@dataclass(frozen=True)
class Context:
    settings: Settings
    engine: Engine
    read_engine: Engine  # autocommit: single-statement reads on hot paths
    search_engine: Engine  # autocommit, with the search settings (socrate.db.SEARCH_SETTINGS)
    sessions: sessionmaker[Session]
    storage: Storage

    def dispose(self) -> None:
        """Close every pooled connection (tests and benches after a restart, tools before they exit)."""
        for engine in (self.engine, self.read_engine, self.search_engine):
            engine.dispose()


def build(settings: Settings) -> Context:
    """Every process that touches storage builds one: from here on what it writes is private."""
    keep_files_private()
    engine = make_engine(settings.database_url)
    return Context(
        settings=settings,
        engine=engine,
        read_engine=make_engine(settings.database_url, autocommit=True),
        search_engine=make_engine(settings.database_url, search=True),
        sessions=make_session_factory(engine),
        storage=build_storage(settings),
    )
