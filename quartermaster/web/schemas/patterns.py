"""The patterns and limits every refusal of a request is stated in, and what makes a string
text that can travel on (`is_text`).

Every refusal is a pattern, a length, a range or an enum, so that the OpenAPI document
(openapi.py) states exactly what the server takes: a client made from it sends nothing that is
refused (tests/unit/test_openapi.py checks each edge both ways; tests/lab/test_fuzzing.py fuzzes
a live server with it).
"""

import re
from collections.abc import Iterator

from quartermaster.jobs.labels import RESERVED_PREFIX

# Patterns end in \Z, not $: $ also matches before a trailing newline.
# A job reference: a full service id, a service name, or an id prefix (see swarm/references.py).
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
MAX_ENV_VALUE = 64 * 1024  # characters of one value; the whole env is MAX_ENV_BYTES of UTF-8 too
AUTH_KEYS = {"username", "password", "auth", "email", "serveraddress", "identitytoken"}
# `auth`'s format in the document: what it holds is JSON inside base64, which no pattern can say.
REGISTRY_AUTH_FORMAT = "docker-registry-auth"
# Docker allows 255 characters in the name it completes a reference's name to, which adds at
# most "docker.io/library/": a reference this long always fits, whatever its parts.
MAX_IMAGE_LENGTH = 255 - len("docker.io/library/")

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
