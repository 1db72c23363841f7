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
WINDOW_PARTITIONS = 64
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
    # Windows are split by tenant into WINDOW_PARTITIONS hash partitions, each with its own HNSW graph: a
    # search walks the graph of its tenant's partition, where that tenant is a large share of the
    # vectors, instead of the whole deployment's graph, where a small tenant is a needle in a haystack
    # (bench.search_scale: a 50-document tenant among 2,100 documents, 85 ms -> 3 ms).
    op.create_table(
        "windows",
        sa.Column("id", sa.BigInteger(), sa.Identity(), nullable=False),
        sa.Column("tenant_id", sa.String(36), sa.ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False),
        sa.Column(
            "document_id", sa.String(36), sa.ForeignKey("documents.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("chunk_id", sa.BigInteger(), sa.ForeignKey("chunks.id", ondelete="CASCADE"), nullable=False),
        sa.Column("char_start", sa.Integer(), nullable=False),
        sa.Column("char_end", sa.Integer(), nullable=False),
        sa.Column("embedding", Vector(384), nullable=False),
        sa.PrimaryKeyConstraint("id", "tenant_id", name="pk_windows"),
        postgresql_partition_by="HASH (tenant_id)",
    )
    for remainder in range(WINDOW_PARTITIONS):
        op.execute(f"CREATE TABLE windows_{remainder:02} PARTITION OF windows "
                   f"FOR VALUES WITH (MODULUS {WINDOW_PARTITIONS}, REMAINDER {remainder})")  # fmt: skip
    op.create_index("ix_windows_tenant_id", "windows", ["tenant_id"])
    op.create_index("ix_windows_document_id", "windows", ["document_id"])
    op.create_index("ix_windows_chunk_id", "windows", ["chunk_id"])
    # Nearest neighbours over half-precision copies: half the index, the same neighbours (unit vectors
    # lose ~1e-3 of cosine); exact distances are measured on the full vectors afterwards.
    op.execute(
        "CREATE INDEX ix_windows_embedding ON windows "
        "USING hnsw ((CAST(embedding AS halfvec(384))) halfvec_cosine_ops)"
    )
    # Word weights come from the planner's statistics of this column: keep many more lexemes than the
    # default 1,000 so that rare words are told apart from merely uncommon ones.
    op.execute("ALTER TABLE chunks ALTER COLUMN tsv SET STATISTICS 1000")
    # Each search starts with the tenant's ready documents' languages and sizes: an index-only scan.
    op.execute(
        "CREATE INDEX ix_documents_tenant_ready ON documents (tenant_id) INCLUDE (language, total_chunks) "
        "WHERE status = 'ready'"
    )


def downgrade() -> None:
    op.drop_index("ix_documents_tenant_ready", table_name="documents")
    op.drop_table("windows")
    op.drop_table("chunks")
    for name in (*STEMMED, "simple"):
        op.execute(f"DROP TEXT SEARCH CONFIGURATION IF EXISTS socrate_{name}")
