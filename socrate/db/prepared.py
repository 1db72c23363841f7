"""Statements PostgreSQL parses and plans once per connection (PREPARE, then EXECUTE), for the hottest
reads: on a status poll SQLAlchemy's compiled-statement and result paths and the server's parse and
plan were most of the request, so these run on the driver's cursor and build their rows themselves.

Needs a session-level connection to PostgreSQL (not PgBouncer's transaction pooling, where prepared
statements do not survive between transactions).
"""

from __future__ import annotations

import hashlib
from collections import namedtuple
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast

import psycopg2
from sqlalchemy import Connection, Select
from sqlalchemy.dialects.postgresql.psycopg2 import PGDialect_psycopg2
from sqlalchemy.engine.interfaces import DBAPIModule
from sqlalchemy.exc import DBAPIError

_DOLLAR = PGDialect_psycopg2(paramstyle="numeric_dollar")  # $1, $2 ... as PREPARE wants them
DRIVER_ERROR = psycopg2.Error
_KEY = "socrate.prepared"  # names prepared on a connection (cleared by SQLAlchemy when it is replaced)


@dataclass(frozen=True)
class Prepared:
    name: str
    sql: str
    params: tuple[str, ...]  # bind parameter names, in $n order
    row: type[tuple[Any, ...]]  # a named tuple of the selected columns
    processors: tuple[tuple[int, Callable[[Any], Any]], ...]  # column types that convert driver values

    @classmethod
    def of(cls, statement: Select[Any]) -> Prepared:
        """Named after its SQL, so one text is prepared once per connection whoever asks for it."""
        compiled = statement.compile(dialect=_DOLLAR)
        sql = str(compiled)
        name = "socrate_" + hashlib.sha1(sql.encode()).hexdigest()[:16]
        columns = list(statement.selected_columns)
        converters = (c.type.dialect_impl(_DOLLAR).result_processor(_DOLLAR, None) for c in columns)
        processors = ((i, p) for i, p in enumerate(converters) if p is not None)
        row = namedtuple("PreparedRow", [c.key for c in columns])  # type: ignore[misc]
        return cls(name, sql, tuple(compiled.positiontup or ()), row, tuple(processors))

    def first(self, conn: Connection, **values: object) -> Any:
        """The first row (a named tuple) for these parameter values, or None; prepares the statement on
        this connection first if it has not been yet. Driver errors are raised as SQLAlchemy's (a lost
        server is an OperationalError, a 503 on the web)."""
        record = conn.connection
        prepared: set[str] = record.info.setdefault(_KEY, set())
        arguments = tuple(values[name] for name in self.params)
        try:
            with record.dbapi_connection.cursor() as cursor:  # type: ignore[union-attr]
                if self.name not in prepared:
                    cursor.execute(f"PREPARE {self.name} AS {self.sql}")
                    prepared.add(self.name)
                cursor.execute(f"EXECUTE {self.name}({', '.join(['%s'] * len(arguments))})", arguments)
                found = cursor.fetchone()
        except DRIVER_ERROR as exc:
            # SQLAlchemy types driver errors as its own stand-in class, which psycopg2's does not extend
            if conn.dialect.is_disconnect(cast(DBAPIModule.Error, exc), record.dbapi_connection, None):
                conn.invalidate(exc)  # the server went away: every pooled connection is as stale
                conn.engine.dispose()
            raise DBAPIError.instance(self.sql, arguments, exc, DRIVER_ERROR) from exc
        if found is None:
            return None
        if self.processors:
            found = list(found)
            for i, process in self.processors:
                found[i] = process(found[i])
        return self.row._make(found)  # type: ignore[attr-defined]
