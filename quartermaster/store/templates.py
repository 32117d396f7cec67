"""Templates in the store (jobs/templates.py): each its owner's (a tenant's name; "" the
operator's), read by (owner, name). What a template keeps of registry credentials is sealed by
the caller (process/sealing.py); this module never sees them in the clear."""

from dataclasses import asdict, dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from quartermaster.jobs.audit import AuditEntry
from quartermaster.jobs.errors import TemplateConflict, TemplateNotFound
from quartermaster.jobs.schedules import Schedule
from quartermaster.jobs.spec import JobSpec
from quartermaster.jobs.templates import Template, TemplateParameters
from quartermaster.jobs.times import timestamp_of
from quartermaster.store.audit import insert_entry
from quartermaster.store.connection import StoreConnection
from quartermaster.store.rows import nanos, owner_key
from quartermaster.store.schema import template_ticks, templates

NO_TEMPLATE = "no such template"
TEMPLATE_TAKEN = "a template of that name exists: change it, or remove it first"
# JobSpec's fields a template does not keep in its request: the credentials (sealed apart), and
# what each dispatch sets.
NOT_KEPT = (
    "registry_auth",
    "idempotency_key",
    "tenant",
    "run_by",
    "name",
    "payload",
    "template",
    "scheduled_for",
)


@dataclass(frozen=True)
class StoredTemplate:
    """A template as the store keeps it: its credentials sealed, if it has any."""

    template: Template
    auth_sealed: str | None = None
    next_tick: int | None = None  # its schedule's next tick not yet taken (store/schedules.py)


class TemplateStore:
    def __init__(self, connection: StoreConnection):
        self._connection = connection

    def create(self, stored: StoredTemplate, now: float, entry: AuditEntry) -> Template:
        at = nanos(now)
        template = stored.template
        try:
            with self._connection.writing() as connection:
                connection.execute(
                    templates.insert().values(
                        owner=owner_key(template.tenant),
                        name=template.name,
                        **_columns(stored),
                        created_at=at,
                        updated_at=at,
                    )
                )
                insert_entry(connection, entry, at)
        except IntegrityError as error:
            raise TemplateConflict(TEMPLATE_TAKEN) from error
        return self.template(template.tenant, template.name).template

    def templates(self, tenant: str | None) -> list[Template]:
        """The tenant's templates (None: the operator's), by name."""
        with self._connection.reading() as connection:
            rows = connection.execute(
                templates.select()
                .where(templates.c.owner == owner_key(tenant))
                .order_by(templates.c.name)
            ).all()
        return [_stored_of(row).template for row in rows]

    def template(self, tenant: str | None, name: str) -> StoredTemplate:
        with self._connection.reading() as connection:
            row = connection.execute(
                templates.select().where(
                    templates.c.owner == owner_key(tenant), templates.c.name == name
                )
            ).first()
        if row is None:
            raise TemplateNotFound(NO_TEMPLATE)
        return _stored_of(row)

    def update(
        self, stored: StoredTemplate, now: float, entry: AuditEntry, schedule_changed: bool
    ) -> Template:
        """The template becomes `stored`; its next tick too if its schedule changed (if not,
        the next tick stays whatever a scheduler made it meanwhile)."""
        template = stored.template
        columns = _columns(stored)
        if not schedule_changed:
            del columns["next_tick"]
        with self._connection.writing() as connection:
            changed = connection.execute(
                templates.update()
                .where(
                    templates.c.owner == owner_key(template.tenant),
                    templates.c.name == template.name,
                )
                .values(**columns, updated_at=nanos(now))
            ).rowcount
            if not changed:
                raise TemplateNotFound(NO_TEMPLATE)
            insert_entry(connection, entry, nanos(now))
        return self.template(template.tenant, template.name).template

    def delete(self, tenant: str | None, name: str, now: float, entry: AuditEntry) -> None:
        """The template and its ticks (the jobs it made stay, and their records)."""
        with self._connection.writing() as connection:
            deleted = connection.execute(
                templates.delete().where(
                    templates.c.owner == owner_key(tenant), templates.c.name == name
                )
            ).rowcount
            if not deleted:
                raise TemplateNotFound(NO_TEMPLATE)
            connection.execute(
                template_ticks.delete().where(
                    template_ticks.c.owner == owner_key(tenant), template_ticks.c.template == name
                )
            )
            insert_entry(connection, entry, nanos(now))


def _columns(stored: StoredTemplate) -> dict[str, Any]:
    template = stored.template
    request = {key: value for key, value in asdict(template.job).items() if key not in NOT_KEPT}
    return {
        "request": request,
        "auth_sealed": stored.auth_sealed,
        "parameters": template.parameters.as_json(),
        "payload": template.payload,
        "schedule": None if template.schedule is None else template.schedule.as_json(),
        "next_tick": stored.next_tick,
    }


def _stored_of(row: sa.Row) -> StoredTemplate:
    request = dict(row.request)
    command = request.get("command")
    job = JobSpec(
        **{
            **request,
            "command": None if command is None else tuple(command),
            "constraints": tuple(request.get("constraints") or ()),
        }
    )
    parameters = TemplateParameters(
        tuple(row.parameters.get("required", ())), tuple(row.parameters.get("optional", ()))
    )
    template = Template(
        row.name,
        job,
        parameters,
        row.payload,
        row.owner or None,
        row.auth_sealed is not None,
        timestamp_of(row.created_at),
        timestamp_of(row.updated_at),
        None if row.schedule is None else Schedule(**row.schedule),
    )
    return StoredTemplate(template, row.auth_sealed, row.next_tick)
