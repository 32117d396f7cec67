"""schedules: templates' schedules and their ticks; jobs made from a template name it and the
tick they ran for

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
    with op.batch_alter_table("templates", schema=None) as batch_op:
        batch_op.add_column(sa.Column("schedule", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("next_tick", sa.BigInteger(), nullable=True))
        batch_op.create_index(batch_op.f("ix_templates_next_tick"), ["next_tick"])
    op.create_table(
        "template_ticks",
        sa.Column("owner", Key, nullable=False),
        sa.Column("template", Key, nullable=False),
        sa.Column("tick", sa.BigInteger(), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("job_id", Key, nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("recorded_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("owner", "template", "tick", name=op.f("pk_template_ticks")),
    )
    op.create_index(
        "ix_template_ticks_firing",
        "template_ticks",
        ["recorded_at"],
        sqlite_where=sa.text("outcome = 'firing'"),
        postgresql_where=sa.text("outcome = 'firing'"),
    )


def downgrade() -> None:
    op.drop_index("ix_template_ticks_firing", table_name="template_ticks")
    op.drop_table("template_ticks")
    with op.batch_alter_table("templates", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_templates_next_tick"))
        batch_op.drop_column("next_tick")
        batch_op.drop_column("schedule")
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_jobs_template_created_at_id"))
        batch_op.drop_column("scheduled_for")
        batch_op.drop_column("template")
