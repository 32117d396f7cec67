"""The use cases the API offers: jobs (jobs.py) and tenants with their keys (tenants.py)."""

from quartermaster.service.jobs import JobService
from quartermaster.service.tenants import TenantService

__all__ = ["JobService", "TenantService"]
