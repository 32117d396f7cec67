"""records: jobs, labels, timeline, logs

Revision ID: 0001
Revises:
Create Date: 2026-11-27 06:53:09.704632
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "jobs",
        sa.Column(
            "id", sa.String().with_variant(sa.String(collation="C"), "postgresql"), nullable=False
        ),
        sa.Column(
            "name", sa.String().with_variant(sa.String(collation="C"), "postgresql"), nullable=False
        ),
        sa.Column(
            "image",
            sa.String().with_variant(sa.String(collation="C"), "postgresql"),
            nullable=False,
        ),
        sa.Column("type", sa.String(length=16), nullable=False),
        sa.Column("request", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("state", sa.String(length=32), nullable=False),
        sa.Column("exit_code", sa.Integer(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("node_id", sa.String(length=64), nullable=True),
        sa.Column("node_hostname", sa.String(length=255), nullable=True),
        sa.Column("completions", sa.Integer(), nullable=False),
        sa.Column("succeeded", sa.Integer(), nullable=False),
        sa.Column("failed", sa.Integer(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("started_at", sa.BigInteger(), nullable=True),
        sa.Column("finished_at", sa.BigInteger(), nullable=True),
        sa.Column("ttl", sa.Integer(), nullable=False),
        sa.Column("expires_at", sa.BigInteger(), nullable=True),
        sa.Column("service_removed_at", sa.BigInteger(), nullable=True),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.Column("log_captured_at", sa.BigInteger(), nullable=True),
        sa.Column("log_bytes", sa.Integer(), nullable=False),
        sa.Column("log_truncated", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_jobs")),
    )
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_jobs_created_at_id"), ["created_at", "id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_jobs_expires_at"), ["expires_at"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_jobs_image_created_at_id"), ["image", "created_at", "id"], unique=False
        )
        batch_op.create_index(
            "ix_jobs_live",
            ["id"],
            unique=False,
            sqlite_where=sa.text("service_removed_at IS NULL"),
            postgresql_where=sa.text("service_removed_at IS NULL"),
        )
        batch_op.create_index(
            batch_op.f("ix_jobs_name_created_at_id"), ["name", "created_at", "id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_jobs_status_created_at_id"), ["status", "created_at", "id"], unique=False
        )

    op.create_table(
        "job_labels",
        sa.Column(
            "job_id",
            sa.String().with_variant(sa.String(collation="C"), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "key", sa.String().with_variant(sa.String(collation="C"), "postgresql"), nullable=False
        ),
        sa.Column(
            "value",
            sa.String().with_variant(sa.String(collation="C"), "postgresql"),
            nullable=False,
        ),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["job_id"], ["jobs.id"], name=op.f("fk_job_labels_job_id"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("job_id", "key", name=op.f("pk_job_labels")),
    )
    with op.batch_alter_table("job_labels", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_job_labels_key_value_created_at_job_id"),
            ["key", "value", "created_at", "job_id"],
            unique=False,
        )

    op.create_table(
        "job_log_chunks",
        sa.Column(
            "job_id",
            sa.String().with_variant(sa.String(collation="C"), "postgresql"),
            nullable=False,
        ),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("stream", sa.SmallInteger(), nullable=False),
        sa.Column("first_at", sa.BigInteger(), nullable=False),
        sa.Column("last_at", sa.BigInteger(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["job_id"], ["jobs.id"], name=op.f("fk_job_log_chunks_job_id"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("job_id", "seq", name=op.f("pk_job_log_chunks")),
    )
    op.create_table(
        "job_transitions",
        sa.Column(
            "job_id",
            sa.String().with_variant(sa.String(collation="C"), "postgresql"),
            nullable=False,
        ),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("at", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("state", sa.String(length=32), nullable=False),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["job_id"], ["jobs.id"], name=op.f("fk_job_transitions_job_id"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("job_id", "seq", name=op.f("pk_job_transitions")),
    )
    if op.get_bind().dialect.name == "postgresql":
        # A label's key and value are correlated: without these statistics PostgreSQL misjudges
        # a filter on two labels (measured: a hash join of 25 ms instead of an index walk of 1).
        op.execute("CREATE STATISTICS job_labels_key_value (mcv) ON key, value FROM job_labels")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP STATISTICS job_labels_key_value")
    op.drop_table("job_transitions")
    op.drop_table("job_log_chunks")
    with op.batch_alter_table("job_labels", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_job_labels_key_value_created_at_job_id"))

    op.drop_table("job_labels")
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_jobs_status_created_at_id"))
        batch_op.drop_index(batch_op.f("ix_jobs_name_created_at_id"))
        batch_op.drop_index(
            "ix_jobs_live",
            sqlite_where=sa.text("service_removed_at IS NULL"),
            postgresql_where=sa.text("service_removed_at IS NULL"),
        )
        batch_op.drop_index(batch_op.f("ix_jobs_image_created_at_id"))
        batch_op.drop_index(batch_op.f("ix_jobs_expires_at"))
        batch_op.drop_index(batch_op.f("ix_jobs_created_at_id"))

    op.drop_table("jobs")
