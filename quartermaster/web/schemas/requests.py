"""The schemas that load a client's input but /run's body (run_request.py): their bases, which
refuse unknown names and strings that are not text, /stop's body, and the query strings."""

from collections.abc import Mapping
from typing import Any

from marshmallow import RAISE, Schema, ValidationError, fields, post_load, pre_load, validate

from quartermaster.jobs.logs import LogOptions
from quartermaster.jobs.query import (
    CURSOR_PATTERN,
    DEFAULT_LIMIT,
    MAX_LIMIT,
    JobQuery,
    decode_cursor,
)
from quartermaster.jobs.status import STATUSES
from quartermaster.jobs.tenancy import NAME_ERROR, NAME_PATTERN
from quartermaster.web.schemas.fields import (
    REFERENCE_ERROR,
    QueryBoolean,
    QueryInteger,
    QueryNumber,
)
from quartermaster.web.schemas.patterns import (
    IMAGE_REFERENCE_PATTERN,
    LABEL_FILTER_PATTERN,
    MAX_IMAGE_LENGTH,
    MAX_LABELS,
    MAX_WAIT_SECONDS,
    NOT_TEXT,
    REFERENCE_PATTERN,
    TAIL_PATTERN,
    is_text,
    json_strings,
)


class RequestSchema(Schema):
    """Base of what loads a client's input (a body, a query string): names it does not know
    are refused, and so is any string in it, at any depth, that `is_text` refuses, in one place
    for every field before any field's own checks."""

    class Meta:
        unknown = RAISE

    @pre_load
    def only_text(self, data: object, **kwargs) -> object:
        if isinstance(data, Mapping):
            errors = {
                name if is_text(name) else ascii(name)[1:-1]: [NOT_TEXT]
                for name, value in data.items()
                if not all(is_text(text) for text in json_strings([name, value]))
            }
            if errors:
                raise ValidationError(errors)
        return data


class TokenRequest(RequestSchema):
    """Base of the request bodies: the token may travel in the body (checked by `auth`)."""

    token = fields.String(
        metadata={"description": "the token, unless sent as Authorization: Bearer or ?token="}
    )


class StopRequest(TokenRequest):
    id = fields.String(
        required=True, validate=validate.Regexp(REFERENCE_PATTERN, error=REFERENCE_ERROR)
    )

    @post_load
    def to_reference(self, data: Mapping[str, Any], **kwargs) -> str:
        return data["id"]


class QuerySchema(RequestSchema):
    """Base of the query strings' schemas."""


class StatusQuery(QuerySchema):
    wait = QueryNumber(
        load_default=0,
        allow_nan=False,
        validate=validate.Range(min=0, max=MAX_WAIT_SECONDS),
        metadata={"description": "seconds to wait for the job to reach a final state"},
    )


# 9999-12-31T23:59:59Z: Docker fails (a 500) on times it cannot hold.
LATEST_TIMESTAMP = 253_402_300_799


def unix_time(description: str | None = None) -> QueryNumber:
    """An optional query parameter that is a UNIX time, from the epoch to LATEST_TIMESTAMP."""
    return QueryNumber(
        load_default=None,
        allow_nan=False,
        validate=validate.Range(min=0, max=LATEST_TIMESTAMP),
        metadata={} if description is None else {"description": description},
    )


class JobsQuery(QuerySchema):
    status = fields.List(fields.String(validate=validate.OneOf(STATUSES)), load_default=list)
    label = fields.List(
        fields.String(validate=validate.Regexp(LABEL_FILTER_PATTERN, error="must be key=value")),
        load_default=list,
        # No job has more labels: each one more is a lookup per job read, and can match none.
        validate=validate.Length(max=MAX_LABELS, error="at most {max} label filters"),
    )
    name = fields.String(
        load_default=None,
        validate=validate.Regexp(REFERENCE_PATTERN, error="letters, digits, _ . - only"),
        metadata={"description": "jobs whose name starts with this"},
    )
    image = fields.String(
        load_default=None,
        validate=[
            validate.Length(max=MAX_IMAGE_LENGTH, error="at most {max} characters"),
            validate.Regexp(IMAGE_REFERENCE_PATTERN, error="not a valid image reference"),
        ],
        metadata={"description": "jobs of this image, as /run was given it"},
    )
    tenant = fields.String(
        load_default=None,
        validate=validate.Regexp(NAME_PATTERN, error=NAME_ERROR),
        metadata={"description": "jobs of this tenant (a tenant's key sees its own alone)"},
    )
    template = fields.String(
        load_default=None,
        validate=validate.Regexp(NAME_PATTERN, error=NAME_ERROR),
        metadata={"description": "jobs made from this template (by dispatch or its schedule)"},
    )
    created_after = unix_time("UNIX time: jobs created after it")
    finished_before = unix_time("UNIX time: jobs finished before it")
    limit = QueryInteger(load_default=DEFAULT_LIMIT, validate=validate.Range(min=1, max=MAX_LIMIT))
    cursor = fields.String(
        load_default=None,
        validate=validate.Regexp(CURSOR_PATTERN, error="not a cursor from /jobs"),
        metadata={"description": "next_cursor of the previous page"},
    )

    @post_load
    def to_job_query(self, data: Mapping[str, Any], **kwargs) -> JobQuery:
        return JobQuery(
            statuses=tuple(data["status"]),
            labels=dict(item.split("=", 1) for item in data["label"]),
            name=data["name"],
            image=data["image"],
            tenant=data["tenant"],
            template=data["template"],
            created_after=data["created_after"],
            finished_before=data["finished_before"],
            limit=data["limit"],
            after=decode_cursor(data["cursor"]) if data["cursor"] else None,
        )


class LogsQuery(QuerySchema):
    follow = QueryBoolean(load_default=False)
    tail = fields.String(
        load_default="all",
        validate=validate.Regexp(TAIL_PATTERN, error='must be a number of lines or "all"'),
    )
    since = unix_time()
    timestamps = QueryBoolean(load_default=False)
    stream = fields.String(load_default=None, validate=validate.OneOf(("stdout", "stderr")))

    @post_load
    def to_log_options(self, data: Mapping[str, Any], **kwargs) -> LogOptions:
        return LogOptions(
            follow=data["follow"],
            tail=None if data["tail"] == "all" else int(data["tail"]),
            since=data["since"],
            timestamps=data["timestamps"],
            stdout=data["stream"] in (None, "stdout"),
            stderr=data["stream"] in (None, "stderr"),
        )
