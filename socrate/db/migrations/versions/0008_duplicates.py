"""Find a tenant's document by its content hash: an upload of a file the tenant already has is a duplicate.

Revision ID: 0008
Revises: 0007
"""

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_documents_tenant_sha256", "documents", ["tenant_id", "sha256"])


def downgrade() -> None:
    op.drop_index("ix_documents_tenant_sha256", table_name="documents")
