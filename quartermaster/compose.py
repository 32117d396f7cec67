"""Assembly: the one place that builds the job runtime, the record store and the service over
them, and the web app on the service. The entry points (wsgi.py, the gunicorn app) and the tests
call it; the layers below receive what they use, and the web layer builds nothing of the swarm
or the store.

It stands apart from `quartermaster.server`, whose import patches the process with gevent: the
unit tests compose apps without that.
"""

from flask import Flask

from quartermaster.jobs.runtime import JobRuntime
from quartermaster.process import config as configuration
from quartermaster.process.sealing import Sealer
from quartermaster.service import JobService, TemplateService, TenantService
from quartermaster.service.quotas import Quotas
from quartermaster.service.schedules import ScheduleService
from quartermaster.store import RecordStore
from quartermaster.store.admission import AdmissionStore
from quartermaster.store.audit import AuditStore
from quartermaster.store.schedules import ScheduleStore
from quartermaster.store.templates import TemplateStore
from quartermaster.store.tenancy import TenantStore
from quartermaster.swarm.runtime import Swarm
from quartermaster.web.app import create_app


def compose_service(
    config: configuration.Config,
    runtime: JobRuntime | None = None,
    store: RecordStore | None = None,
) -> tuple[JobService, TenantService, TemplateService]:
    """The use cases over `runtime` (by default the swarm of `config`) and `store` (by default
    the record store of `config`): jobs, tenants with their keys, and templates. Made here,
    connected lazily: each gunicorn worker opens its own Docker connection and its own pool of
    store connections."""
    store = store or RecordStore(config.store_url)
    tenants = TenantStore(store.connection)
    audit = AuditStore(store.connection)
    runtime = runtime or Swarm(config)
    quotas = Quotas(runtime, AdmissionStore(store.connection), audit, tenants.any_tenant)
    jobs = JobService(runtime, store, config, tenants.tenant, audit, quotas)
    templates = TemplateService(
        TemplateStore(store.connection),
        ScheduleStore(store.connection),
        jobs,
        Sealer(config.secret_key),
    )
    # A quota raised (a weight changed) frees room: what of the queues fits now is admitted.
    return jobs, TenantService(tenants, store, audit, quotas.admit), templates


def compose_app(
    config: configuration.Config | None = None,
    runtime: JobRuntime | None = None,
    store: RecordStore | None = None,
) -> Flask:
    """The WSGI app over a service composed as above; without a config, settings come from the
    environment."""
    config = config or configuration.from_env()
    return create_app(*compose_service(config, runtime, store), config)


def compose_scheduler(config: configuration.Config) -> ScheduleService:
    """The templates' schedules over the swarm and the record store of `config`: what the
    background process runs beside the reaper (quartermaster/background)."""
    store = RecordStore(config.store_url)
    jobs, _, templates = compose_service(config, store=store)
    return ScheduleService(ScheduleStore(store.connection), templates, jobs)
