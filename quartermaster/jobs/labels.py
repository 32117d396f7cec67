"""The labels quartermaster puts on the services it creates.

Every key under `RESERVED_PREFIX` belongs to quartermaster: clients may not set them.
"""

RESERVED_PREFIX = "quartermaster."
# Marks a service (and the configs quartermaster keeps beside it) as a quartermaster job: its value
# is the deployment that made it (DEPLOYMENT), or "true" for the unnamed one. Several deployments on
# one swarm each see, and reap, only the jobs carrying their own mark.
JOB = RESERVED_PREFIX + "job"
UNNAMED_DEPLOYMENT_MARK = "true"
# The image as the client asked for it: swarm pins the spec's image to a digest.
IMAGE = RESERVED_PREFIX + "image"
# Set at creation, read by the reaper.
TIMEOUT = RESERVED_PREFIX + "timeout"  # seconds a run may last
TTL = RESERVED_PREFIX + "ttl"  # seconds a finished job's service is kept
CALLBACK_URL = RESERVED_PREFIX + "callback-url"
COMPLETIONS = (
    RESERVED_PREFIX + "completions"
)  # a job's completions, kept when a timeout zeroes them
# With an Idempotency-Key: its SHA-256, and the SHA-256 of the request it came with.
IDEMPOTENCY_KEY = RESERVED_PREFIX + "idempotency-key"
REQUEST_HASH = RESERVED_PREFIX + "request-hash"
# A tenant's job: the tenant, and the job's name as given (its service's name carries the
# tenant: jobs/tenancy.py's service_name). The operator's jobs have neither.
TENANT = RESERVED_PREFIX + "tenant"
NAME = RESERVED_PREFIX + "name"
# Set by the reaper when it stops a job that ran too long: the UTC time it did.
TIMED_OUT = RESERVED_PREFIX + "timed-out"
# Set by /stop when it stops a job it cannot record now (the record store out of reach): the UTC
# time it did, and who (the audit trail's actor: jobs/audit.py). The reaper records the job
# `shutdown`, with its log and the stop's audit entry, then removes its service.
STOPPED = RESERVED_PREFIX + "stopped"
STOPPED_BY = RESERVED_PREFIX + "stopped-by"
# A job of a tenant with a quota is made held (no run: no replica, no completion) and marked
# queued; its admission (store/admission.py) releases it, the mark replaced by ADMITTED (the UTC
# time it was). A held job's runs are in its mode no more: COMPLETIONS keeps a `job`'s.
QUEUED = RESERVED_PREFIX + "queued"
ADMITTED = RESERVED_PREFIX + "admitted"
# Who ran it (the audit trail's actor): the reaper writes the /run's audit entry of a job whose
# first record /run could not write.
RUN_BY = RESERVED_PREFIX + "run-by"
# A job made from a template (jobs/templates.py): its name, and by its schedule, the tick (UTC,
# RFC 3339) it was made for.
TEMPLATE = RESERVED_PREFIX + "template"
SCHEDULED_FOR = RESERVED_PREFIX + "scheduled-for"
# A swarm config holding a dispatch's payload (swarm/payloads.py), mounted into its job's runs.
PAYLOAD = RESERVED_PREFIX + "payload"


def job_mark(deployment: str) -> str:
    """The value of JOB on the jobs of `deployment` ("" is the unnamed deployment)."""
    return deployment or UNNAMED_DEPLOYMENT_MARK


def job_filter(deployment: str) -> str:
    """The Engine API's label filter for the jobs of `deployment`."""
    return f"{JOB}={job_mark(deployment)}"


def is_job(service: dict, deployment: str) -> bool:
    """The service is a job of `deployment`."""
    return service.get("Spec", {}).get("Labels", {}).get(JOB) == job_mark(deployment)


def is_kept_for(config: dict, deployment: str) -> bool:
    """A config quartermaster keeps beside its jobs (a callback record, a claim, a log set
    aside) belongs to `deployment`. One without the mark was made before deployments had
    names: the unnamed deployment's."""
    config_labels = config.get("Spec", {}).get("Labels") or {}
    return config_labels.get(JOB, UNNAMED_DEPLOYMENT_MARK) == job_mark(deployment)


def tenant_filter(tenant: str) -> str:
    """The Engine API's label filter for `tenant`'s jobs."""
    return f"{TENANT}={tenant}"
