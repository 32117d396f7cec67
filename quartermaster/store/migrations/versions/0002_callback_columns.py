"""what 0001 gained after it shipped, for the databases made before

The Idempotency-Key's columns and unique constraint, the store_hosts table and the callback's
columns were added to revision 0001 after databases were made from it, and a database made
before an edit is stamped 0001 all the same: it never got what the edit added (every read then
failed). This revision adds whatever of it a database lacks, as the edits declared it: to a
database made by 0001 as last edited, nothing.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-07 00:20:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

IDEMPOTENCY_KEY_UNIQUE = "uq_jobs_idempotency_key"


def _job_columns() -> list[sa.Column]:
    """The columns the edits of 0001 added to jobs (new objects each time: a column belongs to
    the one table it is added to)."""
    return [
        sa.Column("idempotency_key", sa.String(length=64), nullable=True),
        sa.Column("request_hash", sa.String(length=64), nullable=True),
        sa.Column("callback_state", sa.String(length=16), nullable=True),
        sa.Column("callback_detail", sa.Text(), nullable=True),
        sa.Column("callback_at", sa.BigInteger(), nullable=True),
    ]


def upgrade() -> None:
    inspector = sa.inspect(op.get_bind())
    present = {column["name"] for column in inspector.get_columns("jobs")}
    missing = [column for column in _job_columns() if column.name not in present]
    constraints = {constraint["name"] for constraint in inspector.get_unique_constraints("jobs")}
    if missing or IDEMPOTENCY_KEY_UNIQUE not in constraints:
        # SQLite: the table is made anew and its rows copied (its ALTER adds no constraint),
        # with foreign keys off meanwhile (see migrate.py): dropping the old table would
        # otherwise delete every job's labels, timeline and log with it.
        with op.batch_alter_table("jobs", schema=None) as batch_op:
            for column in missing:
                batch_op.add_column(column)
            if IDEMPOTENCY_KEY_UNIQUE not in constraints:
                batch_op.create_unique_constraint(IDEMPOTENCY_KEY_UNIQUE, ["idempotency_key"])
    if not inspector.has_table("store_hosts"):
        op.create_table(
            "store_hosts",
            sa.Column("boot_id", sa.String(length=64), nullable=False),
            sa.Column("hostname", sa.String(length=255), nullable=False),
            sa.Column("seen_at", sa.BigInteger(), nullable=False),
            sa.PrimaryKeyConstraint("boot_id", name=op.f("pk_store_hosts")),
        )


def downgrade() -> None:
    """Back to 0001 as it first shipped."""
    op.drop_table("store_hosts")
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.drop_constraint(IDEMPOTENCY_KEY_UNIQUE, type_="unique")
        for column in reversed(_job_columns()):
            batch_op.drop_column(column.name)
