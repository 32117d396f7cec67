"""templates: jobs defined once, each its owner's

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07 20:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

Key = sa.String().with_variant(sa.String(collation="C"), "postgresql")


def upgrade() -> None:
    op.create_table(
        "templates",
        sa.Column("owner", Key, nullable=False),
        sa.Column("name", Key, nullable=False),
        sa.Column("request", sa.JSON(), nullable=False),
        sa.Column("auth_sealed", sa.Text(), nullable=True),
        sa.Column("parameters", sa.JSON(), nullable=False),
        sa.Column("payload", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("owner", "name", name=op.f("pk_templates")),
    )


def downgrade() -> None:
    op.drop_table("templates")
