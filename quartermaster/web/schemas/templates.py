"""Templates' bodies and answers (jobs/templates.py): a template's body is /run's (RunRequest's
fields and checks) with the template's `name` and `parameters`; a dispatch's, its parameters'
values (`meta`) and a few of /run's fields (`overrides`)."""

import base64
import re
from collections.abc import Mapping
from typing import Any

from marshmallow import Schema, ValidationError, fields, post_load, validate

from quartermaster.jobs.history import recorded_request
from quartermaster.jobs.templates import (
    MAX_PARAMETERS,
    MAX_PAYLOAD_BYTES,
    PARAMETER_NAME,
    PAYLOAD_MODES,
    Dispatch,
    Template,
    TemplateParameters,
)
from quartermaster.jobs.tenancy import NAME_ERROR, NAME_PATTERN
from quartermaster.web.schemas.fields import no_nul
from quartermaster.web.schemas.patterns import MAX_ENV_VALUE
from quartermaster.web.schemas.requests import RequestSchema, TokenRequest
from quartermaster.web.schemas.responses import Answer
from quartermaster.web.schemas.run_request import JOB_ONLY_FIELDS, RunRequest

PARAMETER_ERROR = "a letter or _, then letters, digits and _, at most 64 in all"


def _parameter_names() -> fields.List:
    return fields.List(
        fields.String(validate=validate.Regexp(PARAMETER_NAME, error=PARAMETER_ERROR)),
        load_default=list,
        validate=validate.Length(max=MAX_PARAMETERS, error="at most {max} parameters"),
    )


class ParametersRequest(RequestSchema):
    """A name given twice counts once; one both required and optional is required."""

    required = _parameter_names()
    optional = _parameter_names()

    @post_load
    def to_parameters(self, data: Mapping[str, Any], **kwargs) -> TemplateParameters:
        required = tuple(dict.fromkeys(data.get("required", ())))
        optional = tuple(n for n in dict.fromkeys(data.get("optional", ())) if n not in required)
        return TemplateParameters(required, optional)


class TemplateRequest(RunRequest):
    """POST /templates (and, whole, the template a PATCH leaves): /run's fields, its job's name
    left to each dispatch, and the template's `name` and `parameters`."""

    name = fields.String(
        required=True,
        validate=validate.Regexp(NAME_PATTERN, error=NAME_ERROR),
        metadata={"description": "the template's (each dispatch's job gets a name of its own)"},
    )
    parameters = fields.Nested(ParametersRequest, load_default=None)
    payload = fields.String(
        load_default="forbidden",
        validate=validate.OneOf(PAYLOAD_MODES),
        metadata={"description": "whether a dispatch gives the job a file at /qm/payload"},
    )

    @post_load
    def to_job_spec(self, data: Mapping[str, Any], **kwargs) -> Template:
        given = dict(data)
        name, parameters, payload = given.pop("name"), given.pop("parameters"), given.pop("payload")
        job = super().to_job_spec(given)
        return Template(name, job, parameters or TemplateParameters(), payload)


class TemplateChange(TemplateRequest):
    """PATCH /templates/:name: any of a template's fields but its name (which it keeps); they
    are laid over the template's own, and the whole loaded as TemplateRequest
    (web/api/templates.py)."""

    class Meta:
        exclude = ("name",)

    image = fields.String(validate=RunRequest._declared_fields["image"].validators)

    # Where a callback may go is checked when the template a change makes is loaded whole, with
    # the settings. (A job's fields come with its type, in a change as in a template.)
    def callback_may_go_there(self, url: str | None, **kwargs) -> None:
        pass

    @post_load
    def to_job_spec(self, data: Mapping[str, Any], **kwargs) -> dict[str, Any]:
        return dict(data)


def changed_fields(template: Template, changes: Mapping[str, Any]) -> dict[str, Any]:
    """The body of the template `changes` (a PATCH's, loaded by TemplateChange) make: laid
    over its own fields; a change of its type to one that is not a "job" takes the job's
    fields (completions, parallelism) it had with it."""
    body = {**template_fields(template), **changes}
    if body.get("type") != "job":
        for name in JOB_ONLY_FIELDS:
            if name not in changes:
                body.pop(name, None)
    return body


# JobSpec's fields a template's body gives, each by the name the body gives it by (memory_mb:
# memory); not a job's name (each dispatch's job gets its own), nor its registry credentials,
# which no answer holds.
BODY_NAMES = {
    name: field.data_key or name
    for name, field in RunRequest().fields.items()
    if name not in ("token", "registry_auth", "name")
}


def template_fields(template: Template) -> dict[str, Any]:
    """The template as a body gives it (a PATCH's fields are laid over these), without the
    registry credentials."""
    job = vars(template.job)
    body: dict[str, Any] = {}
    for name, body_name in BODY_NAMES.items():
        value = job[name]
        if value is None:
            continue
        if name in JOB_ONLY_FIELDS and template.job.type != "job":
            continue  # JobSpec's defaults, which only a "job" may give
        body[body_name] = list(value) if isinstance(value, tuple) else value
    body["name"] = template.name
    body["payload"] = template.payload
    body["parameters"] = template.parameters.as_json()
    return body


class OverridesRequest(RequestSchema):
    """What a dispatch may change of its template's job: /run's fields and checks."""

    memory_mb = RunRequest._declared_fields["memory_mb"]
    cpus = RunRequest._declared_fields["cpus"]
    timeout = RunRequest._declared_fields["timeout"]
    env = RunRequest._declared_fields["env"]
    labels = RunRequest._declared_fields["labels"]
    completions = RunRequest._declared_fields["completions"]

    @post_load
    def given(self, data: Mapping[str, Any], **kwargs) -> dict[str, Any]:
        return {name: value for name, value in data.items() if value is not None}


# Standard base64, padded; at most MAX_PAYLOAD_BYTES once decoded.
BASE64_PATTERN = r"^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$"
MAX_PAYLOAD_BASE64 = 4 * (MAX_PAYLOAD_BYTES // 3)


class Payload(fields.String):
    """A dispatch's payload in a JSON body: base64 (standard, padded), at most
    MAX_PAYLOAD_BASE64 characters (a little under MAX_PAYLOAD_BYTES once decoded)."""

    def __init__(self, **kwargs: Any) -> None:
        metadata = {"pattern": BASE64_PATTERN, "maxLength": MAX_PAYLOAD_BASE64}
        super().__init__(metadata={**metadata, **kwargs.pop("metadata", {})}, **kwargs)

    def _deserialize(
        self, value: object, attr: str | None, data: Mapping[str, Any] | None, **kwargs
    ) -> bytes:
        text = super()._deserialize(value, attr, data, **kwargs)
        if len(text) > MAX_PAYLOAD_BASE64:
            raise ValidationError(f"at most {MAX_PAYLOAD_BYTES // 1024} KiB once decoded")
        if not re.match(BASE64_PATTERN, text):
            raise ValidationError("not base64 (standard, padded)")
        return base64.b64decode(text)


class DispatchRequest(TokenRequest):
    """POST /templates/:name/dispatch (a body of another type than JSON is the payload itself,
    the parameters in the query: web/api/templates.py)."""

    meta = fields.Dict(
        keys=fields.String(validate=validate.Regexp(PARAMETER_NAME, error=PARAMETER_ERROR)),
        values=fields.String(
            validate=[
                validate.Length(max=MAX_ENV_VALUE, error="at most {max} characters"),
                no_nul("values"),
            ]
        ),
        load_default=dict,
        validate=validate.Length(max=MAX_PARAMETERS, error="at most {max} parameters"),
        metadata={"description": "each parameter's value: the job's env QM_META_<NAME>"},
    )
    overrides = fields.Nested(OverridesRequest, load_default=dict)
    payload = Payload(
        load_default=None,
        metadata={"description": "base64: the file /qm/payload in the job's container"},
    )

    @post_load
    def to_dispatch(self, data: Mapping[str, Any], **kwargs) -> Dispatch:
        return Dispatch(data["meta"], data["overrides"], data["payload"])


class ParametersDocument(Schema):
    required = fields.List(fields.String())
    optional = fields.List(fields.String())


class TemplateDocument(Schema):
    name = fields.String(required=True)
    tenant = fields.String(allow_none=True)
    request = fields.Dict(
        metadata={"description": "its /run fields, as /history shows a job's request"}
    )
    parameters = fields.Nested(ParametersDocument)
    payload = fields.String(metadata={"enum": list(PAYLOAD_MODES)})
    auth_kept = fields.Boolean(
        metadata={"description": "whether it keeps registry credentials (sealed; never shown)"}
    )
    created_at = fields.String()
    updated_at = fields.String()


class TemplateResponse(TemplateDocument, Answer):
    pass


class TemplatesResponse(Answer):
    templates = fields.List(fields.Nested(TemplateDocument))


def template_document(template: Template, env_values: bool) -> dict[str, Any]:
    """The template as an answer shows it: its request as a record keeps a job's (env values
    only if KEEP_ENV_VALUES), never its credentials."""
    return {
        "name": template.name,
        "tenant": template.tenant,
        "request": recorded_request(template.job, env_values=env_values),
        "parameters": template.parameters.as_json(),
        "payload": template.payload,
        "auth_kept": template.auth_kept,
        "created_at": template.created_at,
        "updated_at": template.updated_at,
    }
