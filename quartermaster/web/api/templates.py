"""/templates: jobs defined once (jobs/templates.py), each its owner's, and their dispatch."""

from dataclasses import replace

from flask import Blueprint, request
from flask.typing import ResponseReturnValue

from quartermaster.jobs.templates import MAX_PAYLOAD_BYTES, Dispatch, Template
from quartermaster.jobs.tenancy import DISPATCH, READ, TEMPLATES
from quartermaster.web import context
from quartermaster.web.api.run import configured
from quartermaster.web.describe import describe
from quartermaster.web.errors import ApiError
from quartermaster.web.inputs import (
    IDEMPOTENCY_KEY,
    idempotency_key,
    json_object,
    path_name,
    query_args,
)
from quartermaster.web.schemas import JobIdResponse
from quartermaster.web.schemas.responses import Answer
from quartermaster.web.schemas.templates import (
    DispatchRequest,
    TemplateChange,
    TemplateRequest,
    TemplateResponse,
    TemplatesResponse,
    TicksQuery,
    TicksResponse,
    changed_fields,
    template_document,
    tick_document,
)

blueprint = Blueprint("templates", __name__)
META_PAIR = "each meta in the query is NAME=value"
DISPATCHED, CHANGE = DispatchRequest(), TemplateChange(partial=True)
ONE, ALL, DONE, JOB = TemplateResponse(), TemplatesResponse(), Answer(), JobIdResponse()
TICKS, RUNS = TicksQuery(), TicksResponse()
NEXT_TICKS_SHOWN = 5  # a template's next ticks in its answer


def _document(template: Template) -> dict:
    next_ticks = context.templates().next_ticks(template, NEXT_TICKS_SHOWN)
    return template_document(template, context.settings().keep_env_values, next_ticks)


@blueprint.post("/templates")
@describe(
    summary="Make a template: a job defined once, run by dispatch",
    body=TemplateRequest,
    response=TemplateResponse,
    errors=(400, 409, 413, 415, 503),
    right=TEMPLATES,
    status=201,
)
def create_template() -> ResponseReturnValue:
    template = configured(TemplateRequest).load(json_object())
    return ONE.dump(_document(context.templates().create_template(context.actor(), template))), 201


@blueprint.get("/templates")
@describe(summary="The caller's templates, by name", response=TemplatesResponse, errors=(503,),
          right=READ)  # fmt: skip
def list_templates() -> ResponseReturnValue:
    templates = context.templates().templates(context.actor())
    return ALL.dump({"templates": [_document(template) for template in templates]})


@blueprint.get("/templates/<name>")
@describe(summary="A template of the caller's", response=TemplateResponse,
          errors=(400, 404, 503), right=READ)  # fmt: skip
def show_template(name: str) -> ResponseReturnValue:
    return ONE.dump(_document(context.templates().template(context.actor(), path_name(name))))


@blueprint.patch("/templates/<name>")
@describe(
    summary="Change a template: the fields given replace its own (null: back to the default)",
    body=TemplateChange,
    response=TemplateResponse,
    errors=(400, 404, 413, 415, 503),
    right=TEMPLATES,
)
def change_template(name: str) -> ResponseReturnValue:
    name, actor = path_name(name), context.actor()
    changes = json_object()
    CHANGE.load(changes)  # each field given, on its own: a name is no field of a change
    current = context.templates().template(actor, name)
    template = configured(TemplateRequest).load({**changed_fields(current, changes), "name": name})
    changed = context.templates().update_template(actor, name, template, "auth" in changes)
    return ONE.dump(_document(changed))


@blueprint.delete("/templates/<name>")
@describe(summary="Remove a template (the jobs it made, and their history, stay)",
          response=Answer, errors=(400, 404, 503), right=TEMPLATES)  # fmt: skip
def delete_template(name: str) -> ResponseReturnValue:
    context.templates().delete_template(context.actor(), path_name(name))
    return DONE.dump({})


@blueprint.post("/templates/<name>/dispatch")
@describe(
    summary="Run the job a template defines, with parameters (as /run answers)",
    body=DispatchRequest,
    response=JobIdResponse,
    errors=(400, 404, 409, 413, 415, 429, 503),
    right=DISPATCH,
    headers=(("Idempotency-Key", IDEMPOTENCY_KEY),),
)
def dispatch(name: str) -> ResponseReturnValue:
    dispatched = DISPATCHED.load(json_object()) if request.is_json else raw_dispatch()
    job_id = context.templates().dispatch(
        context.actor(), path_name(name), dispatched, idempotency_key()
    )
    return JOB.dump({"id": job_id})


def raw_dispatch() -> Dispatch:
    """A dispatch whose body (of any type but JSON) is its payload, its parameters in the query
    (`meta=NAME=value`, repeated)."""
    meta = {}
    for pair in request.args.getlist("meta"):
        key, equals, value = pair.partition("=")
        if not equals:
            raise ApiError(400, "invalid request: meta", {"meta": [META_PAIR]})
        meta[key] = value
    payload = request.get_data(cache=False)
    if len(payload) > MAX_PAYLOAD_BYTES:
        raise ApiError(413, f"the payload is over {MAX_PAYLOAD_BYTES // 1024} KiB")
    loaded = DISPATCHED.load({"meta": meta})
    return replace(loaded, payload=payload or None)


@blueprint.get("/templates/<name>/runs")
@describe(
    summary="A template's ticks, newest first: fired (its job), skipped, missed, failed to start",
    query=TicksQuery,
    response=TicksResponse,
    errors=(400, 404, 503),
    right=READ,
)
def template_runs(name: str) -> ResponseReturnValue:
    query = TICKS.load(query_args())
    page = context.templates().ticks(
        context.actor(), path_name(name), query["cursor"], query["limit"]
    )
    runs = [tick_document(tick) for tick in page.ticks]
    return RUNS.dump({"runs": runs, "next_cursor": page.next_cursor})
