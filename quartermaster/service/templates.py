"""Templates' use cases (jobs/templates.py): each takes the actor first. A template is its
owner's, seen and changed by it alone (another tenant's is one that does not exist); its registry
credentials are sealed before the store sees them (process/sealing.py) and opened only to run a
dispatch. A dispatch is a /run of the job the template defines (JobService.create_job): the same
policy, quotas, fair share and Idempotency-Key."""

import time
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from quartermaster.jobs import audit
from quartermaster.jobs.schedules import Schedule, next_ticks
from quartermaster.jobs.spec import JobSpec
from quartermaster.jobs.status import FINAL_STATUSES
from quartermaster.jobs.templates import Dispatch, Template, dispatched_job
from quartermaster.jobs.tenancy import Actor
from quartermaster.jobs.times import nanos_of_moment, timestamp_of
from quartermaster.process.sealing import Sealer
from quartermaster.service.jobs import JobService
from quartermaster.store.schedules import ScheduleStore, TickRecord
from quartermaster.store.templates import StoredTemplate, TemplateStore


@dataclass(frozen=True)
class TickPage:
    """A page of a template's ticks, newest first, each with its job's status now."""

    ticks: list[TickRecord]
    next_cursor: int | None  # the last tick of the page (nanoseconds); None: the last page


class TemplateService:
    def __init__(
        self, store: TemplateStore, ticks: ScheduleStore, jobs: JobService, sealer: Sealer
    ):
        self._store = store
        self._ticks = ticks
        self._jobs = jobs
        self._sealer = sealer

    def create_template(self, actor: Actor, template: Template) -> Template:
        """A new template of the actor's (its registry credentials sealed)."""
        template = replace(template, tenant=actor.tenant)
        made = audit.entry(actor, audit.TEMPLATE_CREATED, template.name, actor.tenant, 201)
        now = time.time()
        return self._store.create(
            self._sealed(template, None, first_tick(template, now)), now, made
        )

    def templates(self, actor: Actor) -> list[Template]:
        return self._store.templates(actor.tenant)

    def template(self, actor: Actor, name: str) -> Template:
        return self._store.template(actor.tenant, name).template

    def next_ticks(self, template: Template, count: int) -> list[str]:
        """The next `count` ticks of the template's schedule (RFC 3339, UTC); none while it is
        paused."""
        if template.schedule is None or template.schedule.paused:
            return []
        after = datetime.now(UTC)
        return [
            timestamp_of(nanos_of_moment(tick))
            for tick in next_ticks(template.schedule, after, count)
        ]

    def schedule_of(self, tenant: str | None, name: str) -> Schedule | None:
        return self._store.template(tenant, name).template.schedule

    def ticks(self, actor: Actor, name: str, before: int | None, limit: int) -> TickPage:
        """The actor's template's ticks, newest first (a keyset page: `before` is the previous
        page's last tick), each fired one with its job's status: as the swarm has it now while
        its record is not final."""
        self._store.template(actor.tenant, name)  # another tenant's: one that does not exist
        records = self._ticks.ticks(actor.tenant, name, before, limit)
        unfinished = [
            tick.job_id
            for tick in records
            if tick.job_id is not None and tick.job_status not in FINAL_STATUSES
        ]
        statuses = self._jobs.runtime.job_statuses(unfinished) if unfinished else {}
        records = [
            replace(tick, job_status=statuses[tick.job_id].status)
            if tick.job_id in statuses
            else tick
            for tick in records
        ]
        last = records[-1].tick if len(records) == limit else None
        return TickPage(records, last)

    def update_template(
        self, actor: Actor, name: str, template: Template, auth_given: bool
    ) -> Template:
        """The actor's template `name` becomes `template`; its credentials are those given
        (`auth_given`: none given, none kept), else the ones it had."""
        stored = self._store.template(actor.tenant, name)
        kept = None if auth_given else stored.auth_sealed
        template = replace(template, name=name, tenant=actor.tenant)
        changed = audit.entry(actor, audit.TEMPLATE_CHANGED, name, actor.tenant)
        now = time.time()
        # The same schedule keeps its next tick (one due now is still taken); another starts
        # from now: ticks it would have had before are not missed, and do not catch up.
        schedule_changed = template.schedule != stored.template.schedule
        updated = self._sealed(template, kept, first_tick(template, now))
        return self._store.update(updated, now, changed, schedule_changed)

    def delete_template(self, actor: Actor, name: str) -> None:
        removed = audit.entry(actor, audit.TEMPLATE_REMOVED, name, actor.tenant)
        self._store.delete(actor.tenant, name, time.time(), removed)

    def dispatch(
        self, actor: Actor, name: str, dispatch: Dispatch, idempotency_key: str | None = None
    ) -> str:
        """Run the job the actor's template `name` defines, with `dispatch`'s parameters and
        overrides: its id, as /run's."""
        stored = self._store.template(actor.tenant, name)
        job = replace(self._job_of(stored, dispatch), idempotency_key=idempotency_key)
        return self._jobs.create_job(actor, job)

    def fire(self, tenant: str | None, name: str, tick: int) -> str:
        """Start the job of `tenant`'s template `name` for its schedule's `tick` (nanoseconds):
        its id. Once: the tick is its Idempotency-Key (one no header can carry), so a second
        call for the tick, after a scheduler stopped between its start and its record, answers
        the same job."""
        actor = Actor(tenant=tenant, key_name=f"schedule:{name}")
        stored = self._store.template(tenant, name)
        key = f"\0schedule\0{name}\0{tick}"
        job = replace(
            self._job_of(stored, Dispatch()),
            scheduled_for=timestamp_of(tick),
            idempotency_key=key,
        )
        return self._jobs.create_job(actor, job)

    def _job_of(self, stored: StoredTemplate, dispatch: Dispatch) -> JobSpec:
        job = dispatched_job(stored.template, dispatch)
        if stored.auth_sealed is not None:
            job = replace(job, registry_auth=self._sealer.open(stored.auth_sealed))
        return replace(job, template=stored.template.name)

    def _sealed(
        self, template: Template, kept: str | None, next_tick: int | None
    ) -> StoredTemplate:
        """`template` as the store keeps it: the credentials it carries sealed, or `kept`."""
        auth = template.job.registry_auth
        sealed = kept if auth is None else self._sealer.seal(auth)
        bare = replace(template, job=replace(template.job, registry_auth=None))
        return StoredTemplate(bare, sealed, next_tick)


def first_tick(template: Template, now: float) -> int | None:
    """The first tick of the template's schedule after `now` (nanoseconds); None without a
    schedule, or while it is paused."""
    schedule = template.schedule
    if schedule is None or schedule.paused:
        return None
    ticks = next_ticks(schedule, datetime.fromtimestamp(now, UTC), 1)
    return nanos_of_moment(ticks[0]) if ticks else None
