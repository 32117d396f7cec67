"""job filter indexes: the unfinished jobs in /jobs' order

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-07 00:20:00.000000

/jobs?status= reads the jobs of those statuses and every job whose final record is not written
yet (its recorded status may be behind the swarm's): the second part walks this index, as many
rows as there are live jobs, instead of the whole table.
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

UNFINISHED = "log_captured_at IS NULL"


def upgrade() -> None:
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.create_index(
            "ix_jobs_unfinished",
            ["created_at", "id"],
            unique=False,
            sqlite_where=sa.text(UNFINISHED),
            postgresql_where=sa.text(UNFINISHED),
        )


def downgrade() -> None:
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.drop_index(
            "ix_jobs_unfinished",
            sqlite_where=sa.text(UNFINISHED),
            postgresql_where=sa.text(UNFINISHED),
        )
