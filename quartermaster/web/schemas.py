"""Request schemas (load and validate client JSON) and response schemas (dump), the latter
derived from the domain's dataclasses (web/documents.py).

Loading never touches Docker: a request that passes here is well formed, and what is left for the
swarm to refuse is what only the swarm can know (a name in use, an image it cannot pull). One
check leaves the process: a callback_url's host is resolved, to refuse addresses it may not reach.
"""

import base64
import binascii
import json
import re
import shlex
from collections.abc import Callable, Iterator, Mapping
from typing import Any, ClassVar

from marshmallow import (
    RAISE,
    Schema,
    ValidationError,
    fields,
    post_load,
    pre_load,
    validate,
    validates,
    validates_schema,
)

from quartermaster.jobs.callback_addresses import CallbackRefused, check_url
from quartermaster.jobs.history import Transition
from quartermaster.jobs.labels import RESERVED_PREFIX
from quartermaster.jobs.logs import LogOptions
from quartermaster.jobs.nodes import NodeSummary, SwarmHealth
from quartermaster.jobs.query import (
    CURSOR_PATTERN,
    DEFAULT_LIMIT,
    MAX_LIMIT,
    JobPage,
    JobQuery,
    decode_cursor,
)
from quartermaster.jobs.references import is_full_id
from quartermaster.jobs.spec import JOB_TYPES, JobSpec
from quartermaster.jobs.status import STATUSES, JobStatus
from quartermaster.web.documents import document_fields, document_schema

# Patterns end in \Z, not $: $ also matches before a trailing newline.
# A job reference: a full service id, a service name, or an id prefix (see Swarm._resolve).
REFERENCE_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}\Z")
# swarmkit's rule for service names (no pattern here may nest quantifiers over the same text:
# Python's regexes backtrack, and that takes exponential time on a near miss).
SERVICE_NAME_PATTERN = re.compile(r"^[A-Za-z0-9]+(?:[-_]+[A-Za-z0-9]+)*\Z")
MAX_MEMORY_MB = 4 * 1024 * 1024  # 4 TiB
MIN_MEMORY_MB = 6  # Docker refuses smaller memory limits
MAX_WAIT_SECONDS = 60
MAX_CPUS = 1024
# Smaller limits round to almost no nano-CPUs, and 0 nano-CPUs means no limit at all.
MIN_CPUS = 0.01
MAX_SECONDS = 365 * 24 * 3600
MAX_COMPLETIONS = 1000
# Swarm keeps 5 tasks per slot by default, so more attempts than that could not be counted.
MAX_RETRIES = 4
ENV_NAME_PATTERN = re.compile(r"^[^=\x00\n]{1,256}\Z")
# A job's labels and env are kept in its record, and each label in an index (PostgreSQL's B-tree
# takes entries of up to 2,704 bytes: a key and a value of these lengths, at 4 bytes a character,
# UTF-8's most, fit with the job's id and time); like
# Kubernetes' annotations, all of them together are capped too.
MAX_LABELS = 64
MAX_LABEL_KEY = 128
MAX_LABEL_VALUE = 512
MAX_LABELS_BYTES = 64 * 1024
MAX_ENV = 128
MAX_ENV_BYTES = 64 * 1024
AUTH_KEYS = {"username", "password", "auth", "email", "serveraddress", "identitytoken"}
# `auth`'s format in the document: what it holds is JSON inside base64, which no pattern can say.
REGISTRY_AUTH_FORMAT = "docker-registry-auth"
# Docker allows 255 characters in the name it completes a reference's name to, which adds at
# most "docker.io/library/": a reference this long always fits, whatever its parts.
MAX_IMAGE_LENGTH = 255 - len("docker.io/library/")
# Only a "type": "job" may give these (`job_fields_need_type_job`).
JOB_ONLY_FIELDS = ("completions", "parallelism")

# Every refusal below is a pattern, a length, a range or an enum, so that the OpenAPI document
# (openapi.py) states exactly what the server takes: a client made from it sends nothing that
# is refused (tests/unit/test_openapi.py checks each edge both ways; tests/lab/test_fuzzing.py
# fuzzes a live server with it).
NO_NUL_PATTERN = re.compile(r"^[^\x00]*\Z")
TAIL_PATTERN = re.compile(r"^(?:all|[0-9]{1,9})\Z")
# key=value: a key, then anything; no NUL (PostgreSQL's text holds none, see `is_text`)
LABEL_FILTER_PATTERN = re.compile(r"^[^=\x00]+=[^\x00]*\Z")
# A number in a query string is written as in JSON: no spaces, `_`, `+`, inf or nan, all of
# which Python's float() and int() would take.
QUERY_NUMBER_PATTERN = re.compile(r"^-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?\Z")
QUERY_INTEGER_PATTERN = re.compile(r"^-?(?:0|[1-9][0-9]*)\Z")


def _any_case(text: str) -> str:
    """A pattern matching `text` in any case of its (ASCII) letters."""
    return "".join(f"[{c.upper()}{c.lower()}]" if c.isalpha() else re.escape(c) for c in text)


# A label key: not empty, no NUL, and not under the reserved prefix in any case (Python's
# lower() maps no other character to one of its letters).
LABEL_KEY_PATTERN = re.compile(rf"^(?!{_any_case(RESERVED_PREFIX)})[^\x00]+\Z")


def _image_reference_pattern() -> re.Pattern:
    """The distribution project's grammar for `[registry[:port]/]path[:tag][@digest]`, as far
    as Docker takes it: digests of the algorithms it knows, and no bare 64-hex name (an id)."""
    domain_part = r"[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?"
    # Docker reads the first component as a registry only with a dot, a port, or "localhost".
    port = r"(?::[0-9]+)"
    domain = rf"(?:localhost{port}?|{domain_part}(?:\.{domain_part})+{port}?|{domain_part}{port})"
    path_part = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"  # distribution's [-]*: the same names
    name = rf"(?:{domain}/)?{path_part}(?:/{path_part})*"
    tag = r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}"
    digest = r"(?:sha256:[a-f0-9]{64}|sha384:[a-f0-9]{96}|sha512:[a-f0-9]{128})"
    return re.compile(rf"^(?![a-f0-9]{{64}}\Z){name}(?::{tag})?(?:@{digest})?\Z")


def _command_pattern() -> re.Pattern:
    """A string that shlex.split (POSIX rules, as `Command` uses it) splits into one or more
    arguments free of NUL: Command's checks as a pattern, for the document (test_schemas.py
    holds the two equal)."""
    space = r"[ \t\r\n]"  # shlex's whitespace
    word = r"""(?:[^ \t\r\n'"\\\x00]|\\[^\x00]|'[^'\x00]*'|"(?:[^"\\\x00]|\\[^\x00])*")+"""
    return re.compile(rf"^{space}*{word}(?:{space}+{word})*{space}*\Z")


def _constraint_pattern() -> re.Pattern:
    """swarmkit's constraint syntax (manager/constraint): a key, == or !=, a value, the spaces
    around each dropped. Spaces are only those its \\s means, so swarm takes all this takes."""
    space = r"[\t\n\f\r ]"
    key = r"[A-Za-z_][A-Za-z0-9_.-]+"
    value_char = r"[A-Za-z0-9:_.*()?+\[\]\\^$|/-]"
    value = rf"{value_char}+(?:{space}+{value_char}+)*"
    return re.compile(rf"^{space}*{key}{space}*(?:==|!=){space}*{value}{space}*\Z")


def _ipv6_address() -> str:
    """RFC 3986's IPv6address (no zone, no IPvFuture): what ipaddress, and so urlsplit, takes."""
    h16 = r"[0-9A-Fa-f]{1,4}"
    octet = r"(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])"
    ls32 = rf"(?:{h16}:{h16}|{octet}(?:\.{octet}){{3}})"

    def up_to(n: int) -> str:  # at most n groups, then "::"
        return "" if n < 0 else rf"(?:(?:{h16}:){{0,{n}}}{h16})?"

    forms = [
        rf"(?:{h16}:){{6}}{ls32}",
        rf"::(?:{h16}:){{5}}{ls32}",
        rf"{up_to(0)}::(?:{h16}:){{4}}{ls32}",
        rf"{up_to(1)}::(?:{h16}:){{3}}{ls32}",
        rf"{up_to(2)}::(?:{h16}:){{2}}{ls32}",
        rf"{up_to(3)}::{h16}:{ls32}",
        rf"{up_to(4)}::{ls32}",
        rf"{up_to(5)}::{h16}",
        rf"{up_to(6)}::",
    ]
    return "(?:" + "|".join(forms) + ")"


def _callback_url_pattern() -> re.Pattern:
    """An http or https URL: marshmallow's URL grammar (require_tld=False) in ASCII, with a host
    name, an IPv4 address or a bracketed IPv6 address, labels of at most 63 characters (IDNA's
    limit) and a port urlsplit reads (0 to 65535)."""
    label = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
    domain = rf"(?:{label}\.)+(?:[A-Za-z]{{2,6}}|[A-Za-z0-9-]{{2,63}})\.?"
    ipv4 = r"[0-9]{1,3}(?:\.[0-9]{1,3}){3}"
    host = rf"(?:{domain}|{ipv4}|\[{_ipv6_address()}\]|{label}\.?)"
    port = r"0*(?:[0-9]{1,4}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5])"
    userinfo = r"(?:(?:[A-Za-z0-9._~!$&'()*+,;=:-]|%[0-9A-Fa-f]{2})*@)?"
    path = r"(?:/|[/?][!-~]+)?"
    return re.compile(rf"^[Hh][Tt][Tt][Pp][Ss]?://{userinfo}{host}(?::{port})?{path}\Z")


IMAGE_REFERENCE_PATTERN = _image_reference_pattern()
COMMAND_PATTERN = _command_pattern()
CONSTRAINT_PATTERN = _constraint_pattern()
CALLBACK_URL_PATTERN = _callback_url_pattern()


NOT_TEXT = "must be UTF-8 text without NUL characters (a lone surrogate like \\ud800 is not UTF-8)"


def is_text(value: str) -> bool:
    """Whether a string can travel on: UTF-8 (JSON's "\\ud800" is a lone surrogate, which no
    database stores and Docker turns into U+FFFD) and free of NUL (which PostgreSQL's text does
    not hold)."""
    if "\x00" in value:
        return False
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def json_strings(value: object) -> Iterator[str]:
    """Every string of a JSON value, keys included (iteratively: it may nest deeply)."""
    pending: list[object] = [value]
    while pending:
        value = pending.pop()
        if isinstance(value, str):
            yield value
        elif isinstance(value, dict):
            pending.extend(value.keys())
            pending.extend(value.values())
        elif isinstance(value, list):
            pending.extend(value)


REFERENCE_ERROR = "must be a job id, id prefix or name (letters, digits, _ . -)"


def validate_reference(value: str) -> str:
    if not REFERENCE_PATTERN.match(value):
        raise ValidationError(REFERENCE_ERROR)
    return value


def validate_job_name(name: str) -> None:
    """A name of the form of swarm's ids could pass for another job's id: refused."""
    if is_full_id(name):
        raise ValidationError("looks like a job id (25 lower-case letters and digits)")


def validate_path_reference(value: str) -> None:
    """A job reference from the URL path; the error names `id`."""
    try:
        validate_reference(value)
    except ValidationError as error:
        raise ValidationError({"id": error.messages}) from None


class Command(fields.Field):
    """A string split like a shell would (no shell runs it), or a list of strings."""

    def _deserialize(
        self, value: object, attr: str | None, data: Mapping[str, Any] | None, **kwargs
    ) -> tuple[str, ...]:
        if isinstance(value, str):
            try:
                argv = shlex.split(value)
            except ValueError as error:
                raise ValidationError(f"cannot be split into arguments: {error}") from None
        elif isinstance(value, list) and all(isinstance(arg, str) for arg in value):
            argv = value
        else:
            raise ValidationError("must be a string or a list of strings")
        if not argv:
            raise ValidationError("must not be empty")
        if any("\x00" in arg for arg in argv):
            raise ValidationError("must not contain NUL characters")
        return tuple(argv)


class RegistryAuth(fields.String):
    """base64 (standard or URL-safe, padding optional) of a Docker auth JSON object."""

    def __init__(self, **kwargs) -> None:
        # What decode_registry_auth takes, for the document. JSON Schema's content keywords
        # describe it but assert nothing, so the format names it for clients and fuzzers.
        content = {
            "type": "object",
            "properties": {key: {"type": "string"} for key in sorted(AUTH_KEYS)},
            "additionalProperties": False,
            "anyOf": [
                {"required": ["username", "password"],
                 "properties": {"username": {"minLength": 1}, "password": {"minLength": 1}}},
                {"required": ["identitytoken"], "properties": {"identitytoken": {"minLength": 1}}},
            ],
        }  # fmt: skip
        json_schema = {
            "format": REGISTRY_AUTH_FORMAT,
            "contentEncoding": "base64",
            "contentMediaType": "application/json",
            "contentSchema": content,
        }
        super().__init__(metadata={"json_schema": json_schema}, **kwargs)

    def _deserialize(
        self, value: object, attr: str | None, data: Mapping[str, Any] | None, **kwargs
    ) -> dict[str, str]:
        text = super()._deserialize(value, attr, data, **kwargs)
        return decode_registry_auth(text)


def decode_registry_auth(text: str) -> dict[str, str]:
    urlsafe = text.strip().replace("+", "-").replace("/", "_").rstrip("=")
    try:
        raw = base64.b64decode(urlsafe + "=" * (-len(urlsafe) % 4), altchars=b"-_", validate=True)
        auth = json.loads(raw)
    except (binascii.Error, ValueError, RecursionError):
        raise ValidationError("must be base64 of a Docker auth JSON object") from None
    if not isinstance(auth, dict):
        raise ValidationError("must be base64 of a Docker auth JSON object")
    unknown = sorted(set(auth) - AUTH_KEYS)
    if unknown:
        raise ValidationError(f"unknown keys in the auth object: {', '.join(unknown)}")
    if not all(isinstance(v, str) for v in auth.values()):
        raise ValidationError("every value in the auth object must be a string")
    if not all(is_text(text) for text in json_strings(auth)):
        raise ValidationError(f"every value in the auth object {NOT_TEXT}")
    if not (auth.get("username") and auth.get("password")) and not auth.get("identitytoken"):
        raise ValidationError("the auth object needs a username and a password")
    return auth


class JsonInteger(fields.Integer):
    """A JSON number without a fraction: 3, or 3.0 (which JSON and JSON Schema do not tell
    apart from 3); never "3", true or 3.5."""

    def __init__(self, **kwargs) -> None:
        super().__init__(strict=True, **kwargs)

    def _deserialize(
        self, value: object, attr: str | None, data: Mapping[str, Any] | None, **kwargs
    ) -> int | None:
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        return super()._deserialize(value, attr, data, **kwargs)


class StrictFloat(fields.Float):
    """A JSON number (not a string, not a boolean), finite."""

    def _deserialize(
        self, value: object, attr: str | None, data: Mapping[str, Any] | None, **kwargs
    ) -> float | None:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValidationError("must be a number")
        return super()._deserialize(value, attr, data, **kwargs)


class QueryNumber(fields.Float):
    """A number in a query string, written as in JSON (QUERY_NUMBER_PATTERN)."""

    def _deserialize(
        self, value: object, attr: str | None, data: Mapping[str, Any] | None, **kwargs
    ) -> float | None:
        if not (isinstance(value, str) and QUERY_NUMBER_PATTERN.match(value)):
            raise self.make_error("invalid")
        return super()._deserialize(value, attr, data, **kwargs)


class QueryInteger(fields.Integer):
    """An integer in a query string, written as in JSON (QUERY_INTEGER_PATTERN)."""

    def _deserialize(
        self, value: object, attr: str | None, data: Mapping[str, Any] | None, **kwargs
    ) -> int | None:
        if not (isinstance(value, str) and QUERY_INTEGER_PATTERN.match(value)):
            raise self.make_error("invalid")
        return super()._deserialize(value, attr, data, **kwargs)


class QueryBoolean(fields.Boolean):
    """true or false, as a client made from the document writes a boolean in a query string."""

    def __init__(self, **kwargs) -> None:
        invalid = {"invalid": "must be true or false"}
        super().__init__(truthy={"true"}, falsy={"false"}, error_messages=invalid, **kwargs)


def _no_nul(what: str) -> validate.Regexp:
    return validate.Regexp(NO_NUL_PATTERN, error=f"{what} must be free of NUL characters")


def _at_most_bytes(limit: int) -> Callable[[Mapping[str, str]], None]:
    """A dictionary's keys and values together, in UTF-8: the one limit here that no JSON
    Schema keyword states (the document says it in the field's description)."""

    def check(items: Mapping[str, str]) -> None:
        size = sum(len(key.encode()) + len(value.encode()) for key, value in items.items())
        if size > limit:
            raise ValidationError(
                f"at most {limit // 1024} KiB of keys and values in all (UTF-8); {size} bytes given"
            )

    return check


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


class RunRequest(TokenRequest):
    """A /run body, loaded into a JobSpec: a field for each of JobSpec's but those below."""

    # JobSpec's fields a body does not carry: the Idempotency-Key header's (web/api/run.py).
    NOT_FROM_THE_BODY: ClassVar[frozenset[str]] = frozenset({"idempotency_key"})
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
                _no_nul("values"),
            ]
        ),
        load_default=dict,
        validate=[
            validate.Length(max=MAX_LABELS, error="at most {max} labels"),
            _at_most_bytes(MAX_LABELS_BYTES),
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
                validate.Length(max=MAX_ENV_BYTES, error="at most {max} characters"),
                _no_nul("values"),
            ]
        ),
        load_default=dict,
        validate=[
            validate.Length(max=MAX_ENV, error="at most {max} variables"),
            _at_most_bytes(MAX_ENV_BYTES),
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
        callbacks.RESOLVE_SECONDS) to refuse now a callback that could never be delivered."""
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


class StopRequest(TokenRequest):
    id = fields.String(
        required=True, validate=validate.Regexp(REFERENCE_PATTERN, error=REFERENCE_ERROR)
    )

    @post_load
    def to_reference(self, data: Mapping[str, Any], **kwargs) -> str:
        return data["id"]


class Answer(Schema):
    """Base of the successful JSON answers: `success` first, then their own fields."""

    success = fields.Boolean(dump_default=True)


class JobIdResponse(Answer):
    id = fields.String(required=True)


JobDocument = document_schema(JobStatus, "JobDocument")


# The job's fields, then `success`: what jobs/status.py's status_document makes, which /status
# and the callbacks send (test_documents.py holds the two equal).
StatusResponse = Schema.from_dict(
    {**document_fields(JobStatus), "success": fields.Boolean(dump_default=True)},
    name="StatusResponse",
)


JobsResponse = document_schema(JobPage, "JobsResponse", Answer, nested={JobStatus: JobDocument})
NodeDocument = document_schema(NodeSummary, "NodeDocument")


class RecordedRequestDocument(Schema):
    """The /run request as a record keeps it (jobs/history.py's recorded_request), in /run's
    field names: never `auth`; `env` values only with KEEP_ENV_VALUES (otherwise null); for a
    job made without the store (imported), what its service says."""

    image = fields.String()
    command = fields.List(fields.String(), allow_none=True)
    name = fields.String(allow_none=True, metadata={"description": "generated if not given"})
    labels = fields.Dict(keys=fields.String(), values=fields.String())
    env = fields.Dict(keys=fields.String(), values=fields.String(allow_none=True))
    memory = fields.Integer(attribute="memory_mb", allow_none=True)
    cpus = fields.Float(allow_none=True)
    constraints = fields.List(fields.String())
    type = fields.String()
    completions = fields.Integer()
    parallelism = fields.Integer()
    retries = fields.Integer()
    timeout = fields.Integer(allow_none=True)
    ttl = fields.Integer(allow_none=True)
    callback_url = fields.String(allow_none=True)


TransitionDocument = document_schema(Transition, "TransitionDocument")


class HistoryResponse(Answer):
    id = fields.String(required=True)
    request = fields.Nested(RecordedRequestDocument)
    timeline = fields.List(fields.Nested(TransitionDocument))


class NodesResponse(Answer):
    nodes = fields.List(fields.Nested(NodeDocument))


class ReadyResponse(Answer):
    ready = fields.Boolean(dump_default=True)


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
    created_after = QueryNumber(
        load_default=None,
        allow_nan=False,
        validate=validate.Range(min=0, max=LATEST_TIMESTAMP),
        metadata={"description": "UNIX time: jobs created after it"},
    )
    finished_before = QueryNumber(
        load_default=None,
        allow_nan=False,
        validate=validate.Range(min=0, max=LATEST_TIMESTAMP),
        metadata={"description": "UNIX time: jobs finished before it"},
    )
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
    since = QueryNumber(
        load_default=None, allow_nan=False, validate=validate.Range(min=0, max=LATEST_TIMESTAMP)
    )
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


SwarmCounts = document_schema(SwarmHealth, "SwarmCounts")


class ReaperLiveness(Schema):
    state = fields.String(
        metadata={
            "enum": ["ok", "off"],
            "description": "off: this instance runs no reaper (REAPER_INTERVAL=0)",
        }
    )
    seconds_since_progress = fields.Float(
        metadata={"description": "since the reaper's last action or round (absent when off)"}
    )


class StoreFigures(Schema):
    state = fields.String(
        metadata={
            "enum": ["ok", "unreachable"],
            "description": "unreachable: the record store did not answer when last measured",
        }
    )
    records = fields.Integer(metadata={"description": "records kept (absent when unreachable)"})
    log_bytes = fields.Integer(
        metadata={"description": "bytes of kept logs (absent when unreachable)"}
    )


class HealthResponse(Answer):
    docker = fields.String(dump_default="ok")
    swarm = fields.Nested(SwarmCounts)
    reaper = fields.Nested(ReaperLiveness)
    store = fields.Nested(
        StoreFigures,
        metadata={"description": "what the record store holds, measured at most a minute ago"},
    )


class ErrorResponse(Schema):
    success = fields.Boolean(dump_default=False)
    code = fields.Integer(required=True)
    error = fields.String(required=True)
    fields_ = fields.Dict(data_key="fields", attribute="fields")
    request_id = fields.String()
