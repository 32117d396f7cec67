"""jobs made from a template: its name and the tick of its schedule

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07 23:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

Key = sa.String().with_variant(sa.String(collation="C"), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("template", Key, nullable=True))
        batch_op.add_column(sa.Column("scheduled_for", sa.BigInteger(), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_jobs_template_created_at_id"), ["template", "created_at", "id"]
        )


def downgrade() -> None:
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_jobs_template_created_at_id"))
        batch_op.drop_column("scheduled_for")
        batch_op.drop_column("template")
