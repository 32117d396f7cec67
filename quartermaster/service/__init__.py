"""The use cases the API offers: jobs (jobs.py), tenants with their keys (tenants.py), and
templates (templates.py)."""

from quartermaster.service.jobs import JobService
from quartermaster.service.templates import TemplateService
from quartermaster.service.tenants import TenantService

__all__ = ["JobService", "TemplateService", "TenantService"]
