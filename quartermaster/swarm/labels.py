"""The labels quartermaster puts on the services it creates.

Every key under `RESERVED_PREFIX` belongs to quartermaster: clients may not set them.
"""

RESERVED_PREFIX = "quartermaster."
JOB = RESERVED_PREFIX + "job"  # marks a service as a quartermaster job; value "true"
# The image as the client asked for it: swarm pins the spec's image to a digest.
IMAGE = RESERVED_PREFIX + "image"


def is_reserved(key: str) -> bool:
    return key.lower().startswith(RESERVED_PREFIX)


def is_job(service: dict) -> bool:
    return service.get("Spec", {}).get("Labels", {}).get(JOB) == "true"
