"""quotas: tenants' quotas and weights, what each job holds of them, the runs of a minute, and
the index of a tenant's usage

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07 16:30:00.000000

A record made before holds nothing of its tenant's quota (its memory and cpus null) and is not
waiting.
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

Key = sa.String().with_variant(sa.String(collation="C"), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("tenants", schema=None) as batch_op:
        batch_op.add_column(sa.Column("quota", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("weight", sa.Integer(), server_default="1", nullable=False))
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("memory_mb", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("cpus", sa.Float(), nullable=True))
        batch_op.add_column(
            sa.Column("waiting", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
        batch_op.create_index(
            batch_op.f("ix_jobs_tenant_finished_at_started_at_memory_mb_cpus"),
            ["tenant", "finished_at", "started_at", "memory_mb", "cpus"],
        )
        batch_op.create_index(
            "ix_jobs_unended",
            ["tenant"],
            unique=False,
            sqlite_where=sa.text("finished_at IS NULL"),
            postgresql_where=sa.text("finished_at IS NULL"),
        )
    op.create_table(
        "run_starts",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("tenant", Key, nullable=False),
        sa.Column("at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_run_starts")),
    )
    with op.batch_alter_table("run_starts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_run_starts_tenant_at"), ["tenant", "at"])


def downgrade() -> None:
    with op.batch_alter_table("run_starts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_run_starts_tenant_at"))
    op.drop_table("run_starts")
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.drop_index("ix_jobs_unended")
        batch_op.drop_index(batch_op.f("ix_jobs_tenant_finished_at_started_at_memory_mb_cpus"))
        batch_op.drop_column("waiting")
        batch_op.drop_column("cpus")
        batch_op.drop_column("memory_mb")
    with op.batch_alter_table("tenants", schema=None) as batch_op:
        batch_op.drop_column("weight")
        batch_op.drop_column("quota")
