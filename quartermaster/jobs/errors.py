"""What can go wrong talking to the swarm, in words the HTTP layer can map to status codes."""


class SwarmError(Exception):
    """Base class; the message is safe to show to a client."""


class DockerUnavailable(SwarmError):
    """The Docker daemon cannot be reached (socket missing, refused, timed out)."""


class NotASwarmManager(SwarmError):
    """Docker answers, but this node cannot manage swarm services."""


class JobNotFound(SwarmError):
    """No job (service created by quartermaster) matches the reference."""


class AmbiguousReference(SwarmError):
    """More than one job matches the reference (a name and another job's id prefix, or an id
    prefix of several jobs): refused rather than guessed."""


class NameConflict(SwarmError):
    """Another service already uses the requested name."""


class IdempotencyConflict(SwarmError):
    """An Idempotency-Key already made a job from a different request."""


class DockerRejected(SwarmError):
    """Docker refused the request for a reason of its own; the message is Docker's."""
