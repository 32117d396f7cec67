"""Alembic's environment: run only by quartermaster.store.migrate, on the connection it hands."""

from alembic import context

from quartermaster.store.schema import metadata

config = context.config
connection = config.attributes["connection"]
applied = config.attributes.setdefault("applied", [])

context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",  # SQLite's ALTERs: copy and move
    on_version_apply=lambda *, step, **_: applied.append(step.up_revision_id),
)
with context.begin_transaction():  # inside migrate's transaction: begins and commits nothing
    context.run_migrations()
