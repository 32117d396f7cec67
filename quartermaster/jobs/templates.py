"""Templates: a job defined once (every /run field), run on demand with parameters (dispatch).
Pure: the store keeps templates (store/templates.py), the service dispatches them
(service/templates.py), the HTTP layer validates their fields as /run's.

A template names the parameters a dispatch must give (`required`) and may give (`optional`);
each reaches the job as the environment variable QM_META_<NAME>. It says whether a dispatch
gives a payload (`payload`: forbidden, optional, required): bytes that reach the job as the file
PAYLOAD_PATH. A dispatch may also change a
few of the job's fields (`overrides`): its memory, cpus, timeout and completions, and add to its
env and labels. A template belongs to the tenant whose key made it (None: the operator's).
"""

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from quartermaster.jobs.errors import InvalidInput
from quartermaster.jobs.schedules import Schedule
from quartermaster.jobs.spec import JobSpec

# Parameters become environment variables: a name a shell can read.
PARAMETER_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}\Z")
META_PREFIX = "QM_META_"
MAX_PARAMETERS = 64
# What a dispatch may change of its template's job, and how (env and labels: added to).
OVERRIDES = ("memory_mb", "cpus", "timeout", "env", "labels", "completions")
# Whether a dispatch gives the job a payload (a file at PAYLOAD_PATH in its container).
PAYLOAD_MODES = ("forbidden", "optional", "required")
MAX_PAYLOAD_BYTES = 256 * 1024


@dataclass(frozen=True)
class TemplateParameters:
    required: tuple[str, ...] = ()
    optional: tuple[str, ...] = ()

    @property
    def names(self) -> frozenset[str]:
        return frozenset(self.required) | frozenset(self.optional)

    def as_json(self) -> dict[str, list[str]]:
        """As a body gives them, an answer shows them and the store keeps them."""
        return {"required": list(self.required), "optional": list(self.optional)}


@dataclass(frozen=True)
class Template:
    """A template as its owner made it: `job` holds its /run fields (its registry auth only in
    memory: the store keeps it sealed)."""

    name: str
    job: JobSpec
    parameters: TemplateParameters = field(default_factory=TemplateParameters)
    payload: str = "forbidden"  # one of PAYLOAD_MODES
    tenant: str | None = None
    auth_kept: bool = False  # it keeps registry credentials (sealed in the store)
    created_at: str | None = None  # RFC 3339, set by the store
    updated_at: str | None = None
    schedule: Schedule | None = None  # None: it runs by dispatch alone


@dataclass(frozen=True)
class Dispatch:
    """A dispatch's request: its parameters' values and its overrides (JobSpec's field names)."""

    meta: Mapping[str, str] = field(default_factory=dict)
    overrides: Mapping[str, Any] = field(default_factory=dict)
    payload: bytes | None = field(default=None, repr=False)


def dispatched_job(template: Template, dispatch: Dispatch) -> JobSpec:
    """The job a dispatch of `template` runs: its fields, the overrides applied, each parameter
    as QM_META_<NAME>. Parameters missing or unknown: InvalidInput (400) naming them."""
    meta_errors: list[str] = []
    missing = [name for name in template.parameters.required if name not in dispatch.meta]
    unknown = sorted(set(dispatch.meta) - template.parameters.names)
    if missing:
        meta_errors.append(f"required by template {template.name}: {', '.join(missing)}")
    if unknown:
        meta_errors.append(f"unknown to template {template.name}: {', '.join(unknown)}")
    if meta_errors:
        raise InvalidInput("invalid request: meta", {"meta": meta_errors})
    if dispatch.payload is not None and template.payload == "forbidden":
        message = f"template {template.name} takes no payload"
        raise InvalidInput("invalid request: payload", {"payload": [message]})
    if dispatch.payload is None and template.payload == "required":
        message = f"required by template {template.name}"
        raise InvalidInput("invalid request: payload", {"payload": [message]})
    job = template.job
    overrides = dict(dispatch.overrides)
    env = {**job.env, **overrides.pop("env", {})}
    env.update({META_PREFIX + name: value for name, value in dispatch.meta.items()})
    labels = {**job.labels, **overrides.pop("labels", {})}
    if "completions" in overrides and job.type != "job":
        raise InvalidInput(
            "invalid request: overrides",
            {"overrides": ['completions: only for a template of "type": "job"']},
        )
    return replace(job, **overrides, env=env, labels=labels, payload=dispatch.payload)
