"""Search in the database: pgvector, unaccented Snowball configurations, chunk and window rows.

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op
from pgvector.sqlalchemy import Vector
from sqlalchemy.dialects import postgresql

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

EXTENSIONS = ("vector", "unaccent", "btree_gin")
# PostgreSQL's Snowball stemmers for the languages langdetect names (socrate/search/store.py maps them).
STEMMED = ("arabic", "catalan", "danish", "dutch", "english", "finnish", "french", "german", "greek", "hindi",
           "hungarian", "indonesian", "italian", "lithuanian", "nepali", "norwegian", "portuguese", "romanian",
           "russian", "spanish", "swedish", "tamil", "turkish")  # fmt: skip


def upgrade() -> None:
    for extension in EXTENSIONS:
        op.execute(f"CREATE EXTENSION IF NOT EXISTS {extension}")
    for name in (*STEMMED, "simple"):
        dictionary = "simple" if name == "simple" else f"{name}_stem"
        op.execute(f"CREATE TEXT SEARCH CONFIGURATION socrate_{name} (COPY = pg_catalog.{name})")
        # Words with accents go through unaccent first: "città" and "citta" are one word to a searcher.
        op.execute(f"ALTER TEXT SEARCH CONFIGURATION socrate_{name} "
                   f"ALTER MAPPING FOR word, hword, hword_part WITH unaccent, {dictionary}")  # fmt: skip
    op.create_table(
        "chunks",
        sa.Column("id", sa.BigInteger(), sa.Identity(), primary_key=True),
        sa.Column("tenant_id", sa.String(36), sa.ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False),
        sa.Column(
            "document_id", sa.String(36), sa.ForeignKey("documents.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("chunk_index", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("page_start", sa.Integer(), nullable=True),
        sa.Column("page_end", sa.Integer(), nullable=True),
        sa.Column("ts_config", postgresql.REGCONFIG(), nullable=False),
        sa.Column("tsv", postgresql.TSVECTOR(), sa.Computed("to_tsvector(ts_config, text)", persisted=True)),
        sa.UniqueConstraint("document_id", "chunk_index", name="uq_chunks_document_chunk"),
    )
    op.create_index("ix_chunks_tenant_tsv", "chunks", ["tenant_id", "tsv"], postgresql_using="gin")
    op.create_table(
        "windows",
        sa.Column("id", sa.BigInteger(), sa.Identity(), primary_key=True),
        sa.Column("tenant_id", sa.String(36), sa.ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False),
        sa.Column(
            "document_id", sa.String(36), sa.ForeignKey("documents.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("chunk_id", sa.BigInteger(), sa.ForeignKey("chunks.id", ondelete="CASCADE"), nullable=False),
        sa.Column("char_start", sa.Integer(), nullable=False),
        sa.Column("char_end", sa.Integer(), nullable=False),
        sa.Column("embedding", Vector(384), nullable=False),
    )
    op.create_index("ix_windows_tenant_id", "windows", ["tenant_id"])
    op.create_index("ix_windows_document_id", "windows", ["document_id"])
    op.create_index("ix_windows_chunk_id", "windows", ["chunk_id"])
    op.create_index(
        "ix_windows_embedding",
        "windows",
        ["embedding"],
        postgresql_using="hnsw",
        postgresql_ops={"embedding": "vector_cosine_ops"},
    )


def downgrade() -> None:
    op.drop_table("windows")
    op.drop_table("chunks")
    for name in (*STEMMED, "simple"):
        op.execute(f"DROP TEXT SEARCH CONFIGURATION IF EXISTS socrate_{name}")
