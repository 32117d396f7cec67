"""/run's body, loaded into a JobSpec: a field for each of JobSpec's that a body carries.

Loading never touches Docker: a request that passes here is well formed, and what is left for the
swarm to refuse is what only the swarm can know (a name in use, an image it cannot pull). One
check leaves the process: a callback_url's host is resolved, to refuse addresses it may not reach.
"""

from collections.abc import Mapping
from typing import Any, ClassVar

from marshmallow import ValidationError, fields, post_load, validate, validates, validates_schema

from quartermaster.jobs.callback_addresses import CallbackRefused
from quartermaster.jobs.labels import RESERVED_PREFIX
from quartermaster.jobs.spec import JOB_TYPES, JobSpec
from quartermaster.process.callback_lookup import check_url
from quartermaster.web.schemas.fields import (
    Command,
    JsonInteger,
    RegistryAuth,
    StrictFloat,
    at_most_bytes,
    no_nul,
    validate_job_name,
)
from quartermaster.web.schemas.patterns import (
    CALLBACK_URL_PATTERN,
    COMMAND_PATTERN,
    CONSTRAINT_PATTERN,
    ENV_NAME_PATTERN,
    IMAGE_REFERENCE_PATTERN,
    LABEL_KEY_PATTERN,
    MAX_COMPLETIONS,
    MAX_CPUS,
    MAX_ENV,
    MAX_ENV_BYTES,
    MAX_ENV_VALUE,
    MAX_IMAGE_LENGTH,
    MAX_LABEL_KEY,
    MAX_LABEL_VALUE,
    MAX_LABELS,
    MAX_LABELS_BYTES,
    MAX_MEMORY_MB,
    MAX_RETRIES,
    MAX_SECONDS,
    MIN_CPUS,
    MIN_MEMORY_MB,
    NO_NUL_PATTERN,
    SERVICE_NAME_PATTERN,
)
from quartermaster.web.schemas.requests import TokenRequest

# Only a "type": "job" may give these (`job_fields_need_type_job`).
JOB_ONLY_FIELDS = ("completions", "parallelism")


class RunRequest(TokenRequest):
    """A /run body, loaded into a JobSpec: a field for each of JobSpec's but those below."""

    # JobSpec's fields a body does not carry: the Idempotency-Key header's (web/api/run.py), the
    # tenant and who ran it, the key's (service/jobs.py), and a payload, a template and a tick,
    # a dispatch's alone (service/templates.py).
    NOT_FROM_THE_BODY: ClassVar[frozenset[str]] = frozenset(
        {"idempotency_key", "tenant", "run_by", "payload", "template", "scheduled_for"}
    )
    # `job_fields_need_type_job` in JSON Schema, which openapi.py adds to this schema's.
    JSON_SCHEMA_RULES: ClassVar[dict] = {
        "anyOf": [
            {"required": ["type"], "properties": {"type": {"const": "job"}}},
            {"properties": {name: {"type": "null"} for name in JOB_ONLY_FIELDS}},
        ]
    }

    image = fields.String(
        required=True,
        validate=[
            validate.Length(max=MAX_IMAGE_LENGTH, error="at most {max} characters"),
            validate.Regexp(
                IMAGE_REFERENCE_PATTERN,
                error="not a valid image reference (like alpine or repo/name:tag)",
            ),
        ],
    )
    command = Command(
        load_default=None,
        metadata={
            "description": "split like a shell would (no shell runs it), or a list of arguments",
            "oneOf": [
                {"type": "string", "pattern": COMMAND_PATTERN.pattern},
                {"type": "array", "items": {"type": "string", "pattern": NO_NUL_PATTERN.pattern},
                 "minItems": 1},
                {"type": "null"},
            ],
        },
    )  # fmt: skip
    name = fields.String(
        load_default=None,
        validate=[
            validate.Length(max=63),
            validate.Regexp(SERVICE_NAME_PATTERN, error="not a valid service name"),
            validate_job_name,
        ],
        metadata={"description": "a service name; not 25 lower-case letters and digits (an id)"},
    )
    labels = fields.Dict(
        keys=fields.String(
            validate=[
                validate.Length(max=MAX_LABEL_KEY, error="keys: at most {max} characters"),
                validate.Regexp(
                    LABEL_KEY_PATTERN,
                    error=f"must be non-empty, free of NUL and not under {RESERVED_PREFIX!r} "
                    "(reserved)",
                ),
            ]
        ),
        values=fields.String(
            validate=[
                validate.Length(max=MAX_LABEL_VALUE, error="values: at most {max} characters"),
                no_nul("values"),
            ]
        ),
        load_default=dict,
        validate=[
            validate.Length(max=MAX_LABELS, error="at most {max} labels"),
            at_most_bytes(MAX_LABELS_BYTES),
        ],
        metadata={
            "description": f"at most {MAX_LABELS} labels, {MAX_LABELS_BYTES // 1024} KiB of keys "
            "and values in all (UTF-8)"
        },
    )
    memory_mb = JsonInteger(
        data_key="memory",
        load_default=None,
        validate=validate.Range(min=MIN_MEMORY_MB, max=MAX_MEMORY_MB),
        metadata={"description": "memory limit and reservation in MB"},
    )
    env = fields.Dict(
        keys=fields.String(
            validate=validate.Regexp(
                ENV_NAME_PATTERN,
                error="must be 1 to 256 characters, none of them =, NUL or newline",
            )
        ),
        values=fields.String(
            validate=[
                validate.Length(max=MAX_ENV_VALUE, error="at most {max} characters"),
                no_nul("values"),
            ]
        ),
        load_default=dict,
        validate=[
            validate.Length(max=MAX_ENV, error="at most {max} variables"),
            at_most_bytes(MAX_ENV_BYTES),
        ],
        metadata={
            "description": f"at most {MAX_ENV} variables, {MAX_ENV_BYTES // 1024} KiB of names "
            "and values in all (UTF-8)"
        },
    )
    cpus = StrictFloat(
        load_default=None,
        allow_nan=False,
        validate=validate.Range(min=MIN_CPUS, max=MAX_CPUS),
        metadata={"description": "CPU limit and reservation, in CPUs"},
    )
    constraints = fields.List(
        fields.String(
            validate=validate.Regexp(
                CONSTRAINT_PATTERN, error="must look like node.labels.zone==a (== or !=)"
            )
        ),
        load_default=list,
        validate=validate.Length(max=32),
        metadata={"description": "placement constraints added to the configured ones"},
    )
    type = fields.String(load_default="service", validate=validate.OneOf(JOB_TYPES))
    completions = JsonInteger(
        load_default=None, validate=validate.Range(min=1, max=MAX_COMPLETIONS)
    )
    parallelism = JsonInteger(
        load_default=None, validate=validate.Range(min=1, max=MAX_COMPLETIONS)
    )
    retries = JsonInteger(load_default=0, validate=validate.Range(min=0, max=MAX_RETRIES))
    timeout = JsonInteger(
        load_default=None,
        validate=validate.Range(min=1, max=MAX_SECONDS),
        metadata={"description": "seconds a run may last; then it is stopped and failed"},
    )
    ttl = JsonInteger(
        load_default=None,
        validate=validate.Range(min=0, max=MAX_SECONDS),
        metadata={
            "description": "seconds a finished job's record is kept; default HISTORY_TTL, "
            "at most MAX_TTL (the document's maximum is the server's)"
        },
    )
    callback_url = fields.String(
        load_default=None,
        validate=[
            validate.Length(max=2048),
            validate.Regexp(
                CALLBACK_URL_PATTERN,
                error="must be an http or https URL in ASCII, to a host name or IPv4 address",
            ),
        ],
        metadata={"description": "receives a POST of the /status document when the job ends"},
    )
    registry_auth = RegistryAuth(data_key="auth", load_default=None, load_only=True)

    def __init__(
        self,
        *,
        callback_hosts: tuple[str, ...] = (),
        callback_allow_private: bool = False,
        max_ttl: int = MAX_SECONDS,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.callback_hosts = callback_hosts  # empty: callbacks may go anywhere public
        self.callback_allow_private = callback_allow_private
        self.max_ttl = max_ttl  # MAX_TTL: openapi.py writes it into the document's ttl

    @validates("ttl")
    def ttl_within_max_ttl(self, ttl: int | None, **kwargs) -> None:
        if ttl is not None and ttl > self.max_ttl:
            raise ValidationError(f"at most {self.max_ttl} seconds (MAX_TTL)")

    @validates("callback_url")
    def callback_may_go_there(self, url: str | None, **kwargs) -> None:
        """The one check here that leaves the process: the URL's host is resolved (within
        callback_lookup.RESOLVE_SECONDS) to refuse now a callback that could never be delivered."""
        if url:
            try:
                check_url(
                    url,
                    allowed_hosts=self.callback_hosts,
                    allow_private=self.callback_allow_private,
                )
            except CallbackRefused as refusal:
                raise ValidationError(str(refusal)) from None

    @validates_schema
    def job_fields_need_type_job(self, data: Mapping[str, Any], **kwargs) -> None:
        if data.get("type") != "job":
            given = [name for name in JOB_ONLY_FIELDS if data.get(name) is not None]
            if given:
                raise ValidationError({name: ['only with "type": "job"'] for name in given})

    @post_load
    def to_job_spec(self, data: Mapping[str, Any], **kwargs) -> JobSpec:
        """The fields are JobSpec's, by name (a key the body spells otherwise says so in its
        data_key); one left out or null takes JobSpec's default."""
        given = {name: value for name, value in data.items() if value is not None}
        given.pop("token", None)
        return JobSpec(**{**given, "constraints": tuple(given["constraints"])})
