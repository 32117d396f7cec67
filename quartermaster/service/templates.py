"""Templates' use cases (jobs/templates.py): each takes the actor first. A template is its
owner's, seen and changed by it alone (another tenant's is one that does not exist); its registry
credentials are sealed before the store sees them (process/sealing.py) and opened only to run a
dispatch. A dispatch is a /run of the job the template defines (JobService.create_job): the same
policy, quotas, fair share and Idempotency-Key."""

import time
from dataclasses import replace

from quartermaster.jobs import audit
from quartermaster.jobs.templates import Dispatch, Template, dispatched_job
from quartermaster.jobs.tenancy import Actor
from quartermaster.process.sealing import Sealer
from quartermaster.service.jobs import JobService
from quartermaster.store.templates import StoredTemplate, TemplateStore


class TemplateService:
    def __init__(self, store: TemplateStore, jobs: JobService, sealer: Sealer):
        self._store = store
        self._jobs = jobs
        self._sealer = sealer

    def create_template(self, actor: Actor, template: Template) -> Template:
        """A new template of the actor's (its registry credentials sealed)."""
        template = replace(template, tenant=actor.tenant)
        made = audit.entry(actor, audit.TEMPLATE_CREATED, template.name, actor.tenant, 201)
        return self._store.create(self._sealed(template, None), time.time(), made)

    def templates(self, actor: Actor) -> list[Template]:
        return self._store.templates(actor.tenant)

    def template(self, actor: Actor, name: str) -> Template:
        return self._store.template(actor.tenant, name).template

    def update_template(
        self, actor: Actor, name: str, template: Template, auth_given: bool
    ) -> Template:
        """The actor's template `name` becomes `template`; its credentials are those given
        (`auth_given`: none given, none kept), else the ones it had."""
        kept = None if auth_given else self._store.template(actor.tenant, name).auth_sealed
        template = replace(template, name=name, tenant=actor.tenant)
        changed = audit.entry(actor, audit.TEMPLATE_CHANGED, name, actor.tenant)
        return self._store.update(self._sealed(template, kept), time.time(), changed)

    def delete_template(self, actor: Actor, name: str) -> None:
        removed = audit.entry(actor, audit.TEMPLATE_REMOVED, name, actor.tenant)
        self._store.delete(actor.tenant, name, time.time(), removed)

    def dispatch(
        self, actor: Actor, name: str, dispatch: Dispatch, idempotency_key: str | None = None
    ) -> str:
        """Run the job the actor's template `name` defines, with `dispatch`'s parameters and
        overrides: its id, as /run's."""
        stored = self._store.template(actor.tenant, name)
        job = dispatched_job(stored.template, dispatch)
        if stored.auth_sealed is not None:
            job = replace(job, registry_auth=self._sealer.open(stored.auth_sealed))
        job = replace(job, template=name, idempotency_key=idempotency_key)
        return self._jobs.create_job(actor, job)

    def _sealed(self, template: Template, kept: str | None) -> StoredTemplate:
        """`template` as the store keeps it: the credentials it carries sealed, or `kept`."""
        auth = template.job.registry_auth
        sealed = kept if auth is None else self._sealer.seal(auth)
        bare = replace(template, job=replace(template.job, registry_auth=None))
        return StoredTemplate(bare, sealed)
