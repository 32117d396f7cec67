"""Idempotency-Key claims: of racing /run requests with one key, exactly one creates its job.

The key's job carries the key's hash as a label for as long as it exists: that label is how a
retry finds it. What a label cannot settle is two requests that both find no job and both create
one. So a request first claims the key: it creates a swarm config named after the key's hash, and
config names are unique in the swarm, so one request holds the claim. The holder looks for the
key's job, creates it if there is none, and lets go of the claim; the others wait for the job to
show, or for the claim to go (then they claim it in turn).

A claim says until when it is held. A holder that died, or whose create Docker may still carry
out after not answering, leaves its claim; once that time has passed, the next request with the
key, or the reaper, removes it. Only the key's hash is ever stored, never the key.
"""

import hashlib
import logging
import time

from quartermaster.jobs import labels as job_labels
from quartermaster.jobs.errors import JobNotFound, NameConflict, SwarmError
from quartermaster.jobs.times import nanos_of
from quartermaster.swarm.docker_connection import DockerConnection

log = logging.getLogger(__name__)

CLAIM_PREFIX = "quartermaster-key-"
CLAIM_OF = job_labels.RESERVED_PREFIX + "claim-of-key"  # the key's hash
CLAIM_UNTIL = job_labels.RESERVED_PREFIX + "claim-until"  # epoch seconds
# The holder makes two calls (look for the key's job, create it), each bounded by the Docker
# timeout; a create Docker finishes after that lands well within three times as long again.
LEASE_TIMEOUTS = 6
MAX_CONFIG_NAME = 64  # swarm's limit


def claim_name(key_hash: str, deployment: str) -> str:
    """A config name is unique in the whole swarm: a named deployment's claims are apart from
    the others' (the unnamed deployment's names are those from before deployments had names)."""
    if deployment:
        key_hash = hashlib.sha256(f"{deployment}:{key_hash}".encode()).hexdigest()
    return (CLAIM_PREFIX + key_hash)[:MAX_CONFIG_NAME]


def is_stale(claim: dict, now: float) -> bool:
    """Its holder is gone, or its create failed long ago (an unreadable time: stale too)."""
    try:
        return float(claim["Spec"]["Labels"][CLAIM_UNTIL]) <= now
    except (KeyError, ValueError):
        return True


class KeyClaims:
    def __init__(self, connection: DockerConnection, docker_timeout: float, deployment: str):
        self._docker = connection
        self._deployment = deployment
        self._lease_seconds = LEASE_TIMEOUTS * docker_timeout

    def claim(self, key_hash: str) -> str | None:
        """Claim the key: the claim's id, or None when another request holds it."""
        until = time.time() + self._lease_seconds
        claim_labels = {
            job_labels.JOB: job_labels.job_mark(self._deployment),
            CLAIM_OF: key_hash,
            CLAIM_UNTIL: f"{until:.3f}",
        }
        name = claim_name(key_hash, self._deployment)
        try:
            return self._docker.engine.create_config(name, claim_labels)
        except NameConflict:
            return None

    def release(self, claim_id: str) -> None:
        """Let go of a claim; if that fails, it goes stale and is removed later."""
        try:
            self._docker.engine.remove_config(claim_id)
        except JobNotFound:
            pass  # removed already: taken over as stale, or by the reaper
        except SwarmError as error:
            log.warning("idempotency: a claim could not be let go (it will go stale): %s", error)

    def remove_if_stale(self, key_hash: str) -> None:
        """Remove the key's claim if its holder is gone. By id: of racing removers, one does."""
        try:
            claim = self._docker.engine.inspect_config(claim_name(key_hash, self._deployment))
        except JobNotFound:
            return  # let go meanwhile
        if is_stale(claim, time.time()):
            log.info("idempotency: a claim whose holder is gone is taken over")
            self.release(claim["ID"])

    def job_with_key(self, key_hash: str) -> dict | None:
        """The key's job (the first made, should there ever be two), or None."""
        key_filter = [
            job_labels.job_filter(self._deployment),
            f"{job_labels.IDEMPOTENCY_KEY}={key_hash}",
        ]
        jobs = self._docker.engine.services(filters={"label": key_filter})
        return min(jobs, key=lambda job: (nanos_of(job["CreatedAt"]), job["ID"]), default=None)
