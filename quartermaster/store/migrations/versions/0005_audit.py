"""audit: the audit trail's entries

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-07 14:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

Key = sa.String().with_variant(sa.String(collation="C"), "postgresql")
INDEXES = (
    ("at", "id"),
    ("actor", "at", "id"),
    ("tenant", "at", "id"),
    ("target_tenant", "at", "id"),
    ("action", "at", "id"),
    ("target", "at", "id"),
)


def upgrade() -> None:
    op.create_table(
        "audit_entries",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("at", sa.BigInteger(), nullable=False),
        sa.Column("actor", Key, nullable=False),
        sa.Column("tenant", Key, nullable=True),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("target", Key, nullable=True),
        sa.Column("target_tenant", Key, nullable=True),
        sa.Column("code", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.String(length=128), nullable=True),
        sa.Column("client", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_entries")),
    )
    for columns in INDEXES:
        op.create_index(
            op.f(f"ix_audit_entries_{'_'.join(columns)}"), "audit_entries", list(columns)
        )


def downgrade() -> None:
    for columns in INDEXES:
        op.drop_index(op.f(f"ix_audit_entries_{'_'.join(columns)}"), table_name="audit_entries")
    op.drop_table("audit_entries")
