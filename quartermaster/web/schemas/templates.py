"""Templates' bodies and answers (jobs/templates.py): a template's body is /run's (RunRequest's
fields and checks) with the template's `name` and `parameters`; a dispatch's, its parameters'
values (`meta`) and a few of /run's fields (`overrides`)."""

import base64
import re
from collections.abc import Callable, Mapping
from typing import Any, ClassVar

from marshmallow import Schema, ValidationError, fields, post_load, validate, validates_schema

from quartermaster.jobs.history import recorded_request
from quartermaster.jobs.schedules import (
    MAX_CRON_LENGTH,
    OVERLAPS,
    Schedule,
    cron_error,
    describe,
    timezone_error,
)
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
from quartermaster.jobs.ticks import FIRING, TICK_OUTCOMES
from quartermaster.jobs.times import timestamp_of
from quartermaster.web.schemas.fields import JsonBoolean, JsonInteger, QueryInteger, no_nul
from quartermaster.web.schemas.patterns import MAX_ENV_VALUE
from quartermaster.web.schemas.requests import QuerySchema, RequestSchema, TokenRequest
from quartermaster.web.schemas.responses import Answer, RecordedRequestDocument
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


# What the document calls a schedule's cron and zone: no pattern says which are valid (a field's
# range, a date that never comes, tzdata's names); the fuzzer knows them by these names.
CRON_FORMAT = "cron"
TIMEZONE_FORMAT = "iana-time-zone"
MAX_CATCH_UP = 7 * 24 * 3600


def _refused_by(check: Callable[[str], str | None]) -> Callable[[str], None]:
    """A marshmallow validator of one of jobs/schedules.py's checks (a message, or None)."""

    def validator(value: str) -> None:
        problem = check(value)
        if problem:
            raise ValidationError(problem)

    return validator


class ScheduleRequest(RequestSchema):
    """A template's schedule (jobs/schedules.py)."""

    cron = fields.String(
        required=True,
        validate=[
            validate.Length(max=MAX_CRON_LENGTH, error="at most {max} characters"),
            _refused_by(cron_error),
        ],
        metadata={
            "description": "five fields (minute hour day-of-month month day-of-week), or a macro "
            "such as @daily",
            "format": CRON_FORMAT,
        },
    )
    timezone = fields.String(
        required=True,
        validate=_refused_by(timezone_error),
        metadata={
            "description": "the IANA zone the cron reads the clock of, e.g. Europe/Berlin",
            "format": TIMEZONE_FORMAT,
        },
    )
    overlap = fields.String(
        load_default="allow",
        validate=validate.OneOf(OVERLAPS),
        metadata={"description": "a tick while one of its jobs is live: allow, forbid (skip it) "
                  "or replace (stop it)"},
    )  # fmt: skip
    catch_up = JsonInteger(
        load_default=0,
        validate=validate.Range(min=0, max=MAX_CATCH_UP),
        metadata={"description": "seconds: how late the newest missed tick may still run"},
    )
    paused = JsonBoolean(load_default=False)

    @post_load
    def to_schedule(self, data: Mapping[str, Any], **kwargs) -> Schedule:
        return Schedule(**data)


class ScheduleChange(ScheduleRequest):
    """A PATCH's schedule: the fields it gives change (`{"paused": true}`), laid over the
    template's own schedule by changed_fields, and the whole loaded as ScheduleRequest."""

    cron = fields.String(validate=ScheduleRequest._declared_fields["cron"].validators,
                         metadata=ScheduleRequest._declared_fields["cron"].metadata)  # fmt: skip
    timezone = fields.String(
        validate=ScheduleRequest._declared_fields["timezone"].validators,
        metadata=ScheduleRequest._declared_fields["timezone"].metadata,
    )
    overlap = fields.String(validate=validate.OneOf(OVERLAPS))
    catch_up = JsonInteger(validate=validate.Range(min=0, max=MAX_CATCH_UP))
    paused = JsonBoolean()

    @post_load
    def to_schedule(self, data: Mapping[str, Any], **kwargs) -> dict[str, Any]:
        return dict(data)


# A schedule's ticks give no parameters and no payload (`schedule_needs_no_input`, in JSON
# Schema, joined to the /run body's rules by openapi.py).
SCHEDULE_NEEDS_NO_INPUT = {
    "anyOf": [
        {"properties": {"schedule": {"type": "null"}}},
        {
            "properties": {
                "parameters": {
                    "anyOf": [{"type": "null"}, {"properties": {"required": {"maxItems": 0}}}]
                },
                "payload": {"enum": ["forbidden", "optional"]},
            }
        },
    ]
}
NO_INPUT_ERROR = "a scheduled template's ticks give no {what}: {detail}"


class TemplateRequest(RunRequest):
    """POST /templates (and, whole, the template a PATCH leaves): /run's fields, its job's name
    left to each dispatch, and the template's `name`, `parameters`, `payload` and `schedule`."""

    JSON_SCHEMA_RULES: ClassVar[dict] = {
        "allOf": [RunRequest.JSON_SCHEMA_RULES, SCHEDULE_NEEDS_NO_INPUT]
    }

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
    schedule = fields.Nested(
        ScheduleRequest,
        load_default=None,
        allow_none=True,
        metadata={"description": "when it runs on its own; null: by dispatch alone"},
    )

    @validates_schema
    def schedule_needs_no_input(self, data: Mapping[str, Any], **kwargs) -> None:
        if data.get("schedule") is None:
            return
        parameters = data.get("parameters")
        if parameters is not None and parameters.required:
            detail = f"parameters {', '.join(parameters.required)} are required"
            raise ValidationError(NO_INPUT_ERROR.format(what="parameters", detail=detail),
                                  "schedule")  # fmt: skip
        if data.get("payload") == "required":
            detail = "its payload is required"
            raise ValidationError(NO_INPUT_ERROR.format(what="payload", detail=detail), "schedule")

    @post_load
    def to_job_spec(self, data: Mapping[str, Any], **kwargs) -> Template:
        given = dict(data)
        name, parameters, payload = given.pop("name"), given.pop("parameters"), given.pop("payload")
        schedule = given.pop("schedule")
        job = super().to_job_spec(given)
        return Template(name, job, parameters or TemplateParameters(), payload, schedule=schedule)


class TemplateChange(TemplateRequest):
    """PATCH /templates/:name: any of a template's fields but its name (which it keeps); they
    are laid over the template's own, and the whole loaded as TemplateRequest
    (web/api/templates.py)."""

    class Meta:
        exclude = ("name",)

    image = fields.String(validate=RunRequest._declared_fields["image"].validators)
    schedule = fields.Nested(
        ScheduleChange,
        allow_none=True,
        metadata={"description": "the schedule's fields given change; null removes it"},
    )

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
    schedule = changes.get("schedule")
    if isinstance(schedule, dict) and template.schedule is not None:
        body["schedule"] = {**template.schedule.as_json(), **schedule}  # {"paused": true}
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
    if template.schedule is not None:
        body["schedule"] = template.schedule.as_json()
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


class ScheduleDocument(Schema):
    cron = fields.String()
    timezone = fields.String()
    overlap = fields.String(metadata={"enum": list(OVERLAPS)})
    catch_up = fields.Integer()
    paused = fields.Boolean()
    description = fields.String(metadata={"description": "the schedule in words"})
    next = fields.List(
        fields.String(),
        metadata={"description": "its next ticks, RFC 3339 in UTC (none while paused)"},
    )


class TemplateDocument(Schema):
    name = fields.String(required=True)
    tenant = fields.String(allow_none=True)
    request = fields.Nested(
        RecordedRequestDocument,
        metadata={"description": "its /run fields, as /history shows a job's request"},
    )
    parameters = fields.Nested(ParametersDocument)
    payload = fields.String(metadata={"enum": list(PAYLOAD_MODES)})
    auth_kept = fields.Boolean(
        metadata={"description": "whether it keeps registry credentials (sealed; never shown)"}
    )
    created_at = fields.String()
    updated_at = fields.String()
    schedule = fields.Nested(ScheduleDocument, allow_none=True)


class TemplateResponse(TemplateDocument, Answer):
    pass


class TemplatesResponse(Answer):
    templates = fields.List(fields.Nested(TemplateDocument))


def template_document(
    template: Template, env_values: bool, next_ticks: list[str]
) -> dict[str, Any]:
    """The template as an answer shows it: its request as a record keeps a job's (env values
    only if KEEP_ENV_VALUES), never its credentials; its schedule in words and its next ticks."""
    schedule = template.schedule
    return {
        "name": template.name,
        "tenant": template.tenant,
        "request": recorded_request(template.job, env_values=env_values),
        "parameters": template.parameters.as_json(),
        "payload": template.payload,
        "auth_kept": template.auth_kept,
        "created_at": template.created_at,
        "updated_at": template.updated_at,
        "schedule": None
        if schedule is None
        else {**schedule.as_json(), "description": describe(schedule), "next": next_ticks},
    }


DEFAULT_TICKS, MAX_TICKS = 50, 500
LATEST_TICK = 2**63 - 1  # nanoseconds: a BIGINT's reach


class TicksQuery(QuerySchema):
    """GET /templates/:name/runs."""

    limit = QueryInteger(load_default=DEFAULT_TICKS, validate=validate.Range(min=1, max=MAX_TICKS))
    cursor = QueryInteger(
        load_default=None,
        validate=validate.Range(min=0, max=LATEST_TICK),
        metadata={"description": "next_cursor of the previous page (the ticks before its own)"},
    )


class TickDocument(Schema):
    tick = fields.String(metadata={"description": "the tick's time, RFC 3339 in UTC"})
    outcome = fields.String(metadata={"enum": [*TICK_OUTCOMES, FIRING]})
    job_id = fields.String(allow_none=True, metadata={"description": "the job it started"})
    status = fields.String(
        allow_none=True, metadata={"description": "its job's status now (final once it ended)"}
    )
    reason = fields.String(allow_none=True, metadata={"description": "why: skipped, missed, "
                           "failed to start"})  # fmt: skip


class TicksResponse(Answer):
    runs = fields.List(fields.Nested(TickDocument))
    next_cursor = fields.Integer(
        allow_none=True, metadata={"description": "pass as cursor for the next page; null: last"}
    )


def tick_document(tick: Any) -> dict[str, Any]:
    """A tick as /templates/:name/runs shows it (service/templates.py's TickPage holds them)."""
    return {
        "tick": timestamp_of(tick.tick),
        "outcome": tick.outcome,
        "job_id": tick.job_id,
        "status": tick.job_status,
        "reason": tick.reason,
    }
