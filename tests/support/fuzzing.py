"""The fuzzing of the live app (tests/lab/test_fuzzing*.py, one module per seed so that the two
run in parallel processes): its server, what it changes in a generated case, and its checks."""

import base64
import contextlib
import json
import os
import secrets
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import quote, urlencode
from zoneinfo import available_timezones

import schemathesis
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from schemathesis.checks import CHECKS, load_all_checks, not_a_server_error
from schemathesis.specs.openapi.checks import positive_data_acceptance

from quartermaster.jobs.schedules import MACROS, NOT_ZONES
from quartermaster.web.schemas.patterns import AUTH_KEYS, REGISTRY_AUTH_FORMAT
from quartermaster.web.schemas.run_request import JOB_ONLY_FIELDS
from quartermaster.web.schemas.templates import CRON_FORMAT, TIMEZONE_FORMAT
from support.lab import LiveServer
from support.settings import BEARER, TOKEN

# Enough examples per operation for well over 5,000 requests in all, 2,600 a seed; two seeds,
# each a module, each in its own test process. (A seed is bound by the fuzzer's own CPU: 100
# examples sent 2,656 requests in 62 s alone, 280 examples 5,176 in 134 s, 2026-12-07; 450 took
# 240 s on a loaded CI machine, and past pytest-timeout's 300 s once.)
EXAMPLES_PER_OPERATION = 120
MIN_REQUESTS_PER_SEED = 2600
SEED_COUNT = 2
# A seed's fuzzing is one test: its own bound, above the suite's 300 s, for a loaded machine.
FUZZ_TIMEOUT_SECONDS = 600
# Jobs the fuzzer creates match no node, so they stay pending: no image is ever pulled.
NEVER_PLACED = "node.labels.qm-fuzz==never-placed"
FUZZ_SECRET_KEY = "a-secret-key-the-fuzzer-never-sees"
# SEED_COUNT seeds, new each run (QM_FUZZ_SEEDS="a,b,c" replays a run's).
SEEDS = [int(seed) for seed in os.environ.get("QM_FUZZ_SEEDS", "").split(",") if seed] or [
    secrets.randbits(64) for _ in range(SEED_COUNT)
]


@contextlib.contextmanager
def fuzzed_server(directory: Path) -> Iterator[LiveServer]:
    """A live server for the fuzzer: its jobs never placed, its log checked after."""
    server = LiveServer(directory / "quartermaster.log")
    server.env["CONSTRAINTS"] = NEVER_PLACED
    # Private callback addresses allowed: /run then looks up no made-up callback host in the DNS.
    server.env["CALLBACK_ALLOW_PRIVATE"] = "1"
    # Templates may keep registry credentials (sealed under it): their `auth` is fuzzed too.
    server.env["SECRET_KEY"] = FUZZ_SECRET_KEY
    yield server.start()
    server.stop()
    assert TOKEN not in server.log_text(), "the token leaked into the server's log"
    assert FUZZ_SECRET_KEY not in server.log_text(), "SECRET_KEY leaked into the server's log"
    assert "Traceback" not in server.log_text()


def auths() -> st.SearchStrategy[str]:
    """What decode_registry_auth takes: base64, either alphabet, padded or not, of an object of
    AUTH_KEYS with a username and a password or an identity token, each value text the server
    takes (`is_text`: UTF-8, no NUL; the document cannot say so inside base64)."""
    character = st.characters(codec="utf-8", exclude_characters="\x00")
    text = st.text(character, max_size=20)
    filled = st.text(character, min_size=1, max_size=20)
    credentials = st.one_of(
        st.fixed_dictionaries({"username": filled, "password": filled}),
        st.fixed_dictionaries({"identitytoken": filled}),
    )
    others = st.dictionaries(st.sampled_from(sorted(AUTH_KEYS)), text, max_size=3)

    def encoded(others: dict, credentials: dict, encode, padded: bool) -> str:
        text = encode(json.dumps({**others, **credentials}).encode()).decode()
        return text if padded else text.rstrip("=")

    encodings = st.sampled_from([base64.b64encode, base64.urlsafe_b64encode])
    return st.builds(encoded, others, credentials, encodings, st.booleans())


def crons() -> st.SearchStrategy[str]:
    """Cron expressions a schedule takes, each firing at most once a year (a set minute, hour,
    day and month): the fuzzer's templates never fire while it runs, and make no jobs on their
    own (every field's syntax is tested in tests/unit/test_schedules.py)."""
    fields = st.tuples(
        st.integers(0, 59), st.integers(0, 23), st.integers(1, 28), st.integers(1, 12)
    ).map(lambda values: " ".join(map(str, values)) + " *")
    return st.one_of(st.sampled_from(["@yearly", "@annually"]), fields)


assert {"@yearly", "@annually"} <= set(MACROS)
ZONES = sorted(available_timezones() - NOT_ZONES)

# The refusals no JSON Schema assertion can state (the document's formats name them).
schemathesis.openapi.format(REGISTRY_AUTH_FORMAT, auths())
schemathesis.openapi.format(CRON_FORMAT, crons())
schemathesis.openapi.format(TIMEZONE_FORMAT, st.sampled_from(ZONES))


def live_schema(server, seed: int):
    schema = schemathesis.openapi.from_url(f"{server.url}/openapi.json")
    schema.config.seed = seed
    # Every request carries the real token (below); a generated one would be overwritten there,
    # and a case negative only in its overwritten token would be judged as if it were invalid.
    schema.config.generation.update(with_security_parameters=False)
    return schema


def prepare(case):
    """Changes to a generated case, none of them to what makes it valid or not:

    - schemathesis feeds the ids /run answered back into /status and /logs (and a short id
      prefix such as `0` may name one of them too). Those jobs are never placed (NEVER_PLACED),
      so a valid `?wait=` would hold the answer for all its seconds and a followed log would
      never end: valid waits are cut to 0.1 s, and logs are not followed (both are tested on
      jobs that end: the runtime contract, support/contract.py). Invalid values are left as they
      are.
    - a token generated into a /run or /stop body would be wrong, and the request refused with
      a 401 before its body is read: it is dropped (any string is a valid token, and the Bearer
      header authenticates every request).
    """
    query = case.query
    if isinstance(query, dict):
        wait = query.get("wait")
        with contextlib.suppress(TypeError, ValueError):  # "1.5" in the coverage phase
            if 0.1 < float(wait) <= 60 and not isinstance(wait, bool):
                query["wait"] = 0.1
        if query.get("follow") in (True, "true"):
            query["follow"] = "false"  # as schemathesis writes a boolean in a query
    if isinstance(case.body, dict) and isinstance(case.body.get("token"), str):
        del case.body["token"]


def counted_in(requests_sent: Counter) -> Callable:
    """A check that counts each answer in `requests_sent` by operation and status code."""

    def count(ctx, response, case):
        requests_sent[case.operation.label, response.status_code] += 1

    return count


def no_server_error_and_json(ctx, response, case):
    """Zero 5xx and zero non-JSON answers, beyond what the document allows."""
    path = case.operation.path
    if response.status_code >= 500:
        # /readyz answers 503 when no node can take a job, as it must here (see NEVER_PLACED).
        assert (path, response.status_code) == ("/readyz", 503), response.text
        assert "not ready" in response.json()["error"]
    if response.status_code == 304:  # If-None-Match naming the page (`*`): no body, as documented
        assert (path, response.content) == ("/jobs", b""), response.content
        return
    # Prometheus' text format, a job's output as text: as the document says.
    if path not in ("/metrics", "/logs/{job_id}") or response.status_code != 200:
        assert response.headers.get("content-type") == ["application/json"], response.headers
        assert isinstance(response.json(), dict)


load_all_checks()
EVERY_CHECK = [check for check in CHECKS.get_all() if not isinstance(check, type)]


MAX_REQUEST_LINE = 4094  # gunicorn's limit_request_line, ours too (docs/api.md's errors)


def request_line_bytes(case) -> int:
    """The length of the case's request line, as sent: method, path and query, version."""
    query = urlencode(case.query or {}, doseq=True, quote_via=quote)
    target = case.formatted_path + (f"?{query}" if query else "")
    return len(f"{case.method} {quote(target, safe='/?&=%:@')} HTTP/1.1".encode())


DISPATCH, CHANGE = "/templates/{name}/dispatch", "/templates/{name}"
# What a template's own definition decides of a request naming it, which no schema of the route
# can say: of a dispatch, its parameters (meta), its payload mode and `completions` (a "job"'s
# alone); of a change (laid over the template), a schedule its parameters or payload forbid,
# and a "job"'s fields on a template of another type.
DECIDED_BY_THE_TEMPLATE = {
    ("POST", DISPATCH): {"meta", "payload", "overrides"},
    ("PATCH", CHANGE): {"schedule", *JOB_ONLY_FIELDS},
}


def refused_only_for_what_its_template_takes(ctx, response, case):
    """A schema-valid dispatch or change is accepted, or refused with a 400 for what the named
    template is, and for nothing else (positive_data_acceptance's part that the document can
    state, for these routes)."""
    decided = DECIDED_BY_THE_TEMPLATE.get((case.method.upper(), case.operation.path))
    positive = case.meta is not None and case.meta.generation.mode.is_positive
    if decided is None or response.status_code != 400 or not positive:
        return
    if request_line_bytes(case) > MAX_REQUEST_LINE - 256:
        return  # refused for its length, as any route (see fuzz)
    fields = response.json().get("fields", {})
    assert fields and set(fields) <= decided, response.text


def fuzz(case, requests_sent: Counter) -> None:
    prepare(case)
    # not_a_server_error: /readyz's 503 is its documented answer here (no node matches
    # NEVER_PLACED); no_server_error_and_json holds every other answer to zero 5xx. A request
    # line over gunicorn's 4094 bytes (64 long label filters) is refused with a JSON 400, as
    # the document's errors say, however valid its parameters. A dispatch's or a change's valid
    # data depends on its template: refused_only_for_what_its_template_takes checks it instead,
    # for the generated (positive) cases only; a negative case is still held to its rejection.
    excluded = [not_a_server_error] if case.operation.path == "/readyz" else []
    if request_line_bytes(case) > MAX_REQUEST_LINE - 256:  # an estimate: a margin either way
        excluded.append(positive_data_acceptance)
    if (case.method.upper(), case.operation.path) in DECIDED_BY_THE_TEMPLATE:
        excluded.append(positive_data_acceptance)
    try:
        case.call_and_validate(
            headers=BEARER,
            timeout=90,  # generous for a busy lab: no answer here waits (see prepare)
            checks=EVERY_CHECK,
            additional_checks=[
                counted_in(requests_sent),
                no_server_error_and_json,
                refused_only_for_what_its_template_takes,
            ],
            excluded_checks=excluded,
        )
    except Exception as failure:
        failure.add_note(f"replay with QM_FUZZ_SEEDS={','.join(map(str, SEEDS))}")
        raise


FUZZ_SETTINGS = settings(
    max_examples=EXAMPLES_PER_OPERATION, deadline=None, suppress_health_check=list(HealthCheck)
)


def assert_the_fuzzing_ran(requests_sent: Counter) -> None:
    """Every check ran, and the seed sent its share of the run's requests."""
    names = sorted(check.__name__ for check in EVERY_CHECK)
    print(f"seeds {SEEDS}; checks {names}")
    print(f"fuzzing sent {sum(requests_sent.values())} requests: {sorted(requests_sent.items())}")
    assert {"positive_data_acceptance", "negative_data_rejection", "unsupported_method"} <= set(
        names
    )
    assert sum(requests_sent.values()) >= MIN_REQUESTS_PER_SEED, requests_sent
