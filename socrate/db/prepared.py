"""Statements PostgreSQL parses and plans once per connection (PREPARE, then EXECUTE), for the hottest
reads: on a status poll SQLAlchemy's compiled-statement path and the server's parse and plan were most
of the request (in-process 0.86 -> 0.62 ms per poll with PREPARE through the driver).

Needs a session-level connection to PostgreSQL (not PgBouncer's transaction pooling, where prepared
statements do not survive between transactions).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Row, Select
from sqlalchemy.dialects.postgresql.psycopg2 import PGDialect_psycopg2

_DOLLAR = PGDialect_psycopg2(paramstyle="numeric_dollar")  # $1, $2 ... as PREPARE wants them
_KEY = "socrate.prepared"  # names prepared on a connection (cleared by SQLAlchemy when it is replaced)


@dataclass(frozen=True)
class Prepared:
    name: str
    sql: str
    params: tuple[str, ...]  # bind parameter names, in $n order

    @classmethod
    def of(cls, statement: Select[Any]) -> Prepared:
        """Named after its SQL, so one text is prepared once per connection whoever asks for it."""
        compiled = statement.compile(dialect=_DOLLAR)
        sql = str(compiled)
        name = "socrate_" + hashlib.sha1(sql.encode()).hexdigest()[:16]
        return cls(name, sql, tuple(compiled.positiontup or ()))

    def first(self, conn: Connection, **values: object) -> Row[Any] | None:
        """The first row for these parameter values, preparing the statement on this connection first
        if it has not been yet (errors are SQLAlchemy's, as for any statement)."""
        prepared: set[str] = conn.connection.info.setdefault(_KEY, set())
        if self.name not in prepared:
            conn.exec_driver_sql(f"PREPARE {self.name} AS {self.sql}")
            prepared.add(self.name)
        placeholders = ", ".join(["%s"] * len(self.params))
        arguments = tuple(values[name] for name in self.params)
        return conn.exec_driver_sql(f"EXECUTE {self.name}({placeholders})", arguments).first()
