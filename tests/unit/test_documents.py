"""The answers' schemas are derived from the domain's dataclasses (web/schemas/documents.py): a
field declared there is answered and documented, in its order. Pure logic, no Docker."""

import dataclasses
from dataclasses import asdict, dataclass, field

import pytest
from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from marshmallow import Schema

from quartermaster.jobs.nodes import NodeSummary
from quartermaster.jobs.query import JobPage
from quartermaster.jobs.status import JobStatus, status_document
from quartermaster.web.schemas.documents import document_fields, document_schema
from quartermaster.web.schemas.responses import JobsResponse, NodeDocument, StatusResponse

STATUS = JobStatus(
    id="x1", name="n", tenant=None, image="alpine", type="job", status="failed", state="failed",
    exit_code=3, error="boom", node=None, created_at="2026-01-01T00:00:00.000000000Z",
    started_at=None, finished_at="2026-01-01T00:00:01.000000000Z", completions=2, succeeded=1,
    failed=1, attempts=2,
)  # fmt: skip
NODE = NodeSummary(
    id="n1", hostname="h", role="worker", state="ready", availability="active", memory_mb=100,
    cpus=2.0, reserved_memory_mb=10, reserved_cpus=0.5, free_memory_mb=90, free_cpus=1.5,
    running_jobs=1,
)  # fmt: skip


def test_the_status_document_is_the_one_its_schema_states_in_its_order():
    """/status and the callbacks send status_document; the OpenAPI document shows the schema."""
    document = status_document(STATUS)
    assert list(StatusResponse().dump(STATUS).items()) == list(document.items())
    assert list(document) == [field.name for field in dataclasses.fields(JobStatus)] + ["success"]


def test_a_page_and_a_node_are_answered_with_their_fields_in_their_order():
    page = JobsResponse().dump(JobPage(jobs=[STATUS], next_cursor=None))
    assert list(page) == ["success", "jobs", "next_cursor"]
    assert list(page["jobs"][0].items()) == list(asdict(STATUS).items())
    assert list(NodeDocument().dump(NODE).items()) == list(asdict(NODE).items())


@dataclass(frozen=True)
class Item:
    count: int


@dataclass(frozen=True)
class Example:
    text: str
    maybe: float | None
    flag: bool = field(metadata={"description": "a flag"})
    colour: str = field(metadata={"enum": ("red", "blue")})
    items: list[Item] = field(default_factory=list)
    words: tuple[str, ...] | None = None
    counts: dict[str, int] = field(default_factory=dict)


def example_properties() -> dict:
    schema = document_schema(Example, "ExampleDocument", nested={Item: document_schema(Item, "I")})
    spec = APISpec("t", "1", "3.1.0", plugins=[MarshmallowPlugin()])
    spec.components.schema("ExampleDocument", schema=schema)
    return spec.to_dict()["components"]["schemas"]["ExampleDocument"]["properties"]


def test_each_field_of_a_dataclass_is_documented_from_its_type_and_metadata():
    assert example_properties() == {
        "text": {"type": "string"},
        "maybe": {"type": ["number", "null"]},
        "flag": {"type": "boolean", "description": "a flag"},
        "colour": {"type": "string", "enum": ["red", "blue"]},
        "items": {"type": "array", "items": {"$ref": "#/components/schemas/I"}},
        "words": {"type": ["array", "null"], "items": {"type": "string"}},
        "counts": {"type": "object", "additionalProperties": {"type": "integer"}},
    }


def test_fields_can_be_left_out_and_answered_under_other_names():
    fields = document_fields(Example, leave_out=("items", "flag"), data_keys={"maybe": "perhaps"})
    dumped = Schema.from_dict(fields)().dump(Example("t", 0.5, True, "red", words=("a",)))
    assert dumped == {"text": "t", "perhaps": 0.5, "colour": "red", "words": ["a"], "counts": {}}


@pytest.mark.parametrize("naming", [{"leave_out": ("nope",)}, {"data_keys": {"nope": "x"}}])
def test_a_field_the_dataclass_lacks_fails_at_once(naming):
    """A field renamed in the dataclass leaves no stale name behind."""
    with pytest.raises(TypeError, match="Example has no field nope"):
        document_fields(Example, nested={Item: document_schema(Item, "I")}, **naming)


def test_a_type_it_cannot_document_fails_at_once():
    @dataclass
    class Odd:
        when: complex

    with pytest.raises(TypeError, match="complex"):
        document_schema(Odd, "OddDocument")
