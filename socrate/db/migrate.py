"""Apply Alembic migrations programmatically (run command, tests, release step).

Search needs PostgreSQL 15 or newer with pgvector. Before migrating, the extensions are created here
so that a server without them stops the release with one line saying what to install, not a traceback.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from socrate.db import make_engine
from socrate.errors import DatabaseUnsupported

ROOT = Path(__file__).resolve().parents[2]
MIN_SERVER = 150000  # server_version_num of PostgreSQL 15
EXTENSIONS = ("vector", "unaccent", "btree_gin")
INSUFFICIENT_PRIVILEGE = "42501"
INSTALL_PGVECTOR = (
    "install pgvector on it (Debian/Ubuntu: apt install postgresql-<version>-pgvector; Docker: the "
    "pgvector/pgvector image; Railway: deploy the PostgreSQL with pgvector template and point "
    "DATABASE_URL at it), then run `python -m socrate migrate` again"
)


def alembic_config(database_url: str) -> Config:
    cfg = Config(str(ROOT / "alembic.ini"))
    cfg.set_main_option("script_location", str(Path(__file__).resolve().parent / "migrations"))
    cfg.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return cfg


def upgrade(database_url: str) -> None:
    """Bring the schema to the latest revision (idempotent); DatabaseUnsupported says what is missing."""
    require_extensions(database_url)
    command.upgrade(alembic_config(database_url), "head")


def downgrade_to_base(database_url: str) -> None:
    command.downgrade(alembic_config(database_url), "base")


def require_extensions(database_url: str) -> None:
    """Check the server's version and create the extensions search needs, or say why it cannot."""
    where = _describe(database_url)
    engine = make_engine(database_url)
    try:
        with engine.connect() as conn:
            version = int(conn.execute(text("SHOW server_version_num")).scalar_one())
        if version < MIN_SERVER:
            raise DatabaseUnsupported(
                f"{where} runs PostgreSQL {version // 10000}; Socrate needs 15 or newer with pgvector"
            )
        for extension in EXTENSIONS:
            _create(engine, extension, where)
    finally:
        engine.dispose()


def _create(engine: Engine, extension: str, where: str) -> None:
    try:
        with engine.begin() as conn:
            conn.execute(text(f"CREATE EXTENSION IF NOT EXISTS {extension}"))
    except DBAPIError as exc:
        code = getattr(exc.orig, "pgcode", None)
        if code == INSUFFICIENT_PRIVILEGE:
            raise DatabaseUnsupported(
                f"{where}: this user may not create the {extension} extension; ask the database's owner "
                f"or a superuser to run `CREATE EXTENSION {extension};` in it once, then migrate again"
            ) from None
        if extension == "vector":
            raise DatabaseUnsupported(f"{where} has no pgvector extension: {INSTALL_PGVECTOR}") from None
        raise DatabaseUnsupported(
            f"{where} cannot create the {extension} extension (PostgreSQL's contrib modules are missing): "
            "install them (Debian/Ubuntu: they come with the postgresql-<version> package)"
        ) from None


def _describe(database_url: str) -> str:
    """``PostgreSQL at host:port/db`` without the password, for messages."""
    url = make_url(database_url)
    host = url.host or url.query.get("host") or "localhost"
    return f"PostgreSQL at {host}:{url.port or 5432}/{url.database}"
