"""The record store's tables (SQLAlchemy Core). Times are integers: nanoseconds since the epoch,
UTC, exact for swarm's times and free of time zones."""

import sqlalchemy as sa

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s",
        "pk": "pk_%(table_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
    }
)
# Ids, names, images and labels compare byte-wise on PostgreSQL whatever the cluster's locale
# (SQLite's BINARY collation does already): id prefixes are index ranges, the order is stable.
Key = sa.String().with_variant(sa.String(collation="C"), "postgresql")
Nanos = sa.BigInteger

jobs = sa.Table(
    "jobs",
    metadata,
    sa.Column("id", Key, primary_key=True),  # the swarm service's id
    sa.Column("name", Key, nullable=False),
    sa.Column("image", Key, nullable=False),
    sa.Column("type", sa.String(16), nullable=False),
    # The /run request as recorded (jobs/history.py's recorded_request): never credentials.
    sa.Column("request", sa.JSON, nullable=False),
    # With an Idempotency-Key: its hash and the request's (jobs/idempotency.py), never the key.
    sa.Column("idempotency_key", sa.String(64), unique=True),
    sa.Column("request_hash", sa.String(64)),
    # /status's fields as last seen; `status` is one of jobs.status.STATUSES.
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("state", sa.String(32), nullable=False),
    sa.Column("exit_code", sa.Integer),
    sa.Column("error", sa.Text),
    sa.Column("node_id", sa.String(64)),
    sa.Column("node_hostname", sa.String(255)),
    sa.Column("completions", sa.Integer, nullable=False),
    sa.Column("succeeded", sa.Integer, nullable=False),
    sa.Column("failed", sa.Integer, nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("created_at", Nanos, nullable=False),
    sa.Column("started_at", Nanos),  # the last run's start, kept once it ends
    sa.Column("finished_at", Nanos),  # null while live
    sa.Column("ttl", sa.Integer, nullable=False),  # seconds the record is kept once finished
    sa.Column("expires_at", Nanos),  # finished_at + ttl; null while live
    sa.Column("service_removed_at", Nanos),  # null while the swarm holds the job's service
    sa.Column("updated_at", Nanos, nullable=False),
    # The callback's outcome as last settled: delivered, retrying or failed (null: none yet).
    sa.Column("callback_state", sa.String(16)),
    sa.Column("callback_detail", sa.Text),  # e.g. "HTTP 200", or why it failed
    sa.Column("callback_at", Nanos),
    sa.Column("log_captured_at", Nanos),  # null: the log is not kept yet
    sa.Column("log_bytes", sa.Integer, nullable=False),
    sa.Column("log_truncated", sa.Boolean, nullable=False),
    # The tenant whose key ran it; null: the operator's. Kept after the tenant is removed.
    sa.Column("tenant", Key),
    # What it holds of its tenant's quota while live (jobs/tenancy.py's Footprint): MB, cpus.
    sa.Column("memory_mb", sa.Integer),
    sa.Column("cpus", sa.Float),
    # True while queued (its service held, no run made): not yet admitted to its tenant's quota.
    sa.Column("waiting", sa.Boolean, nullable=False, server_default=sa.false()),
    # Made from a template (its name, its owner's: `tenant`), and by its schedule for a tick.
    sa.Column("template", Key),
    sa.Column("scheduled_for", Nanos),
    # /jobs: newest first, a keyset on (created_at, id); each filter an index ending so.
    sa.Index(None, "created_at", "id"),
    sa.Index(None, "status", "created_at", "id"),
    sa.Index(None, "name", "created_at", "id"),
    sa.Index(None, "image", "created_at", "id"),
    sa.Index(None, "tenant", "created_at", "id"),
    sa.Index(None, "template", "created_at", "id"),
    # The reaper reads the jobs the swarm holds (few) and deletes expired ones.
    sa.Index(
        "ix_jobs_live",
        "id",
        sqlite_where=sa.text("service_removed_at IS NULL"),
        postgresql_where=sa.text("service_removed_at IS NULL"),
    ),
    sa.Index(None, "expires_at"),
    # A tenant's usage in a window: the runs of its jobs that ended in it or after, read from the
    # index alone (store/usage.py).
    sa.Index(None, "tenant", "finished_at", "started_at", "memory_mb", "cpus"),
    # A tenant's live jobs (admitted, not ended), summed against its quota at each admission.
    sa.Index(
        "ix_jobs_unended",
        "tenant",
        sqlite_where=sa.text("finished_at IS NULL"),
        postgresql_where=sa.text("finished_at IS NULL"),
    ),
    # /jobs?status=: jobs whose final record is not written yet (few: as many as are live) are
    # read whatever their recorded status, in /jobs' order (see pages.py's _status_page).
    sa.Index(
        "ix_jobs_unfinished",
        "created_at",
        "id",
        sqlite_where=sa.text("log_captured_at IS NULL"),
        postgresql_where=sa.text("log_captured_at IS NULL"),
    ),
)

# Labels as rows, the job's creation time copied: an index per (key, value) in /jobs' order.
job_labels = sa.Table(
    "job_labels",
    metadata,
    sa.Column("job_id", Key, sa.ForeignKey("jobs.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("key", Key, primary_key=True),
    sa.Column("value", Key, nullable=False),
    sa.Column("created_at", Nanos, nullable=False),
    sa.Index(None, "key", "value", "created_at", "job_id"),
)

# The timeline: each change of status or state, numbered per job (a retried write adds none).
job_transitions = sa.Table(
    "job_transitions",
    metadata,
    sa.Column("job_id", Key, sa.ForeignKey("jobs.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("seq", sa.Integer, primary_key=True),
    sa.Column("at", Nanos, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("state", sa.String(32), nullable=False),
    sa.Column("detail", sa.Text),
)

# The kept log: consecutive lines of one stream per chunk, in order.
job_log_chunks = sa.Table(
    "job_log_chunks",
    metadata,
    sa.Column("job_id", Key, sa.ForeignKey("jobs.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("seq", sa.Integer, primary_key=True),
    sa.Column("stream", sa.SmallInteger, nullable=False),  # 1 stdout, 2 stderr
    sa.Column("first_at", Nanos, nullable=False),
    sa.Column("last_at", Nanos, nullable=False),
    sa.Column("data", sa.LargeBinary, nullable=False),  # lines as Docker gives them, timestamped
)

# Each host (kernel: containers on one host share its boot id) that used the store lately: SQLite
# is for one host, and a second one is told of in the log (see RecordStore.note_host).
store_hosts = sa.Table(
    "store_hosts",
    metadata,
    sa.Column("boot_id", sa.String(64), primary_key=True),
    sa.Column("hostname", sa.String(255), nullable=False),
    sa.Column("seen_at", Nanos, nullable=False),
)

# Tenants (jobs/tenancy.py): teams that own jobs, each with its policy.
tenants = sa.Table(
    "tenants",
    metadata,
    sa.Column("name", Key, primary_key=True),
    sa.Column("images", sa.JSON, nullable=False),  # glob patterns; empty: any image
    sa.Column("constraints", sa.JSON, nullable=False),
    sa.Column("max_memory", sa.Integer),  # MB
    sa.Column("max_cpus", sa.Float),
    sa.Column("max_timeout", sa.Integer),  # seconds
    sa.Column("created_at", Nanos, nullable=False),
    sa.Column("updated_at", Nanos, nullable=False),
    sa.Column("quota", sa.JSON),  # TenantQuota's fields; null: no caps
    sa.Column("weight", sa.Integer, nullable=False, server_default="1"),
)

# The /run requests a tenant with a `runs_per_minute` quota made in the last minute: counted,
# and added to, under its tenant's row lock (store/admission.py).
run_starts = sa.Table(
    "run_starts",
    metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True),
    sa.Column("tenant", Key, nullable=False),
    sa.Column("at", Nanos, nullable=False),
    sa.Index(None, "tenant", "at"),
)

# Templates (jobs/templates.py): jobs defined once, each its owner's (a tenant's name, or "" for
# the operator's), its registry credentials sealed (process/sealing.py), never in the clear.
templates = sa.Table(
    "templates",
    metadata,
    sa.Column("owner", Key, primary_key=True),
    sa.Column("name", Key, primary_key=True),
    sa.Column("request", sa.JSON, nullable=False),  # its /run fields (JobSpec's), no credentials
    sa.Column("auth_sealed", sa.Text),
    sa.Column("parameters", sa.JSON, nullable=False),  # {"required": [...], "optional": [...]}
    sa.Column("payload", sa.String(16), nullable=False),  # one of PAYLOAD_MODES
    sa.Column("created_at", Nanos, nullable=False),
    sa.Column("updated_at", Nanos, nullable=False),
    sa.Column("schedule", sa.JSON),  # jobs/schedules.py's Schedule; null: dispatched alone
    # The schedule's next tick not yet taken (null: none, or paused): the schedulers wait for
    # the earliest, and take a tick by moving it on (store/schedules.py).
    sa.Column("next_tick", Nanos),
    sa.Index(None, "next_tick"),
)

# Each tick of a schedule, once: taken by one scheduler (its key refuses a second), and what
# became of it (jobs/schedules.py's TICK_OUTCOMES). Removed with its template.
template_ticks = sa.Table(
    "template_ticks",
    metadata,
    sa.Column("owner", Key, primary_key=True),
    sa.Column("template", Key, primary_key=True),
    sa.Column("tick", Nanos, primary_key=True),
    sa.Column("outcome", sa.String(16), nullable=False),
    sa.Column("job_id", Key),
    sa.Column("reason", sa.Text),
    sa.Column("recorded_at", Nanos, nullable=False),
    # Ticks taken and not yet settled (a scheduler stopped between taking one and firing it).
    sa.Index(
        "ix_template_ticks_firing",
        "recorded_at",
        sqlite_where=sa.text("outcome = 'firing'"),
        postgresql_where=sa.text("outcome = 'firing'"),
    ),
)

# Tenants' keys (jobs/api_keys.py): found by the id inside the key; only the secret's hash kept.
# Removing a tenant removes its keys; revoking a key removes its row (its name is free again).
api_keys = sa.Table(
    "api_keys",
    metadata,
    sa.Column("id", sa.String(16), primary_key=True),
    sa.Column("tenant", Key, sa.ForeignKey("tenants.name", ondelete="CASCADE"), nullable=False),
    sa.Column("name", Key, nullable=False),
    sa.Column("rights", sa.JSON, nullable=False),  # a list of jobs.tenancy.RIGHTS
    sa.Column("secret_hash", sa.String(64), nullable=False),
    sa.Column("created_at", Nanos, nullable=False),
    sa.Column("expires_at", Nanos),  # null: never
    sa.Column("last_used_at", Nanos),
    sa.UniqueConstraint("tenant", "name"),
)

# The audit trail (jobs/audit.py): each entry written with the change it records. Newest first,
# keyset pages on (at, id); each filter an index ending so.
audit_entries = sa.Table(
    "audit_entries",
    metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True),
    sa.Column("at", Nanos, nullable=False),
    sa.Column("actor", Key, nullable=False),  # operator, or <tenant>/<key>
    sa.Column("tenant", Key),  # the actor's; null: the operator
    sa.Column("action", sa.String(32), nullable=False),
    sa.Column("target", Key),
    sa.Column("target_tenant", Key),
    sa.Column("code", sa.Integer, nullable=False),
    sa.Column("request_id", sa.String(128)),
    sa.Column("client", sa.String(64)),
    sa.Index(None, "at", "id"),
    sa.Index(None, "actor", "at", "id"),
    sa.Index(None, "tenant", "at", "id"),
    sa.Index(None, "target_tenant", "at", "id"),
    sa.Index(None, "action", "at", "id"),
    sa.Index(None, "target", "at", "id"),
)
