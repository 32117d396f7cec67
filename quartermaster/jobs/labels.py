"""The labels quartermaster puts on the services it creates.

Every key under `RESERVED_PREFIX` belongs to quartermaster: clients may not set them.
"""

RESERVED_PREFIX = "quartermaster."
JOB = RESERVED_PREFIX + "job"  # marks a service as a quartermaster job; value "true"
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
# Set by the reaper when it stops a job that ran too long: the UTC time it did.
TIMED_OUT = RESERVED_PREFIX + "timed-out"
# Set by /stop when it stops a job it cannot record now (the record store out of reach): the UTC
# time it did. The reaper records the job `shutdown`, with its log, then removes its service.
STOPPED = RESERVED_PREFIX + "stopped"


def is_job(service: dict) -> bool:
    return service.get("Spec", {}).get("Labels", {}).get(JOB) == "true"
