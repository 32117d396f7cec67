"""Response schemas derived from the domain's dataclasses, so an answer's field is declared once.

Each field of the dataclass becomes a field of the schema, in its order: its type says the
schema's (`str`, `int`, `float`, `bool`; `X | None` allows null; `tuple[S, ...]` is a list of
the scalar S, `dict[str, S]` an object of them; `list[D]` is a list of the schema made for the
dataclass D), and its metadata's `description` and `enum` go to the OpenAPI document. A type not
listed here fails at import, never silently.
"""

import dataclasses
import types
import typing
from collections.abc import Collection, Mapping

from marshmallow import Schema, fields, validate

_SCALARS: dict[type, type[fields.Field]] = {
    str: fields.String,
    int: fields.Integer,
    float: fields.Float,
    bool: fields.Boolean,
}


def document_schema(
    dataclass: type,
    name: str,
    base: type[Schema] = Schema,
    nested: Mapping[type, type[Schema]] | None = None,
) -> type[Schema]:
    """A schema class `name` (its name in the document), subclassing `base` (whose fields come
    first), with a field for each of the dataclass's. `nested`: the schemas of the dataclasses
    its fields hold lists of."""
    return base.from_dict(document_fields(dataclass, nested), name=name)


def document_fields(
    dataclass: type,
    nested: Mapping[type, type[Schema]] | None = None,
    *,
    leave_out: Collection[str] = (),
    data_keys: Mapping[str, str] | None = None,
) -> dict[str, fields.Field]:
    """A schema field for each of the dataclass's, in its order, but those in `leave_out`.
    `data_keys`: the names some of them are answered under (by default, their own)."""
    hints = typing.get_type_hints(dataclass)
    data_keys = data_keys or {}
    unknown = (set(leave_out) | set(data_keys)) - set(hints)
    if unknown:
        raise TypeError(f"{dataclass.__name__} has no field {', '.join(sorted(unknown))}")
    return {
        field.name: _schema_field(
            hints[field.name], field.metadata, nested or {}, data_key=data_keys.get(field.name)
        )
        for field in dataclasses.fields(dataclass)
        if field.name not in leave_out
    }


def _schema_field(
    hint: object, metadata: Mapping, nested: Mapping[type, type[Schema]], data_key: str | None
) -> fields.Field:
    options: dict = {"data_key": data_key}
    arguments = typing.get_args(hint)
    if typing.get_origin(hint) in (typing.Union, types.UnionType) and type(None) in arguments:
        [hint] = [argument for argument in arguments if argument is not type(None)]
        options["allow_none"] = True
    if "description" in metadata:
        options["metadata"] = {"description": metadata["description"]}
    if "enum" in metadata:
        options["validate"] = validate.OneOf(metadata["enum"])
    origin, arguments = typing.get_origin(hint), typing.get_args(hint)
    if origin is list:
        [item] = arguments
        if item not in nested:
            raise TypeError(f"no schema given for {item!r} (nested=)")
        return fields.List(fields.Nested(nested[item]), **options)
    if origin is tuple and len(arguments) == 2 and arguments[1] is Ellipsis:
        return fields.List(_scalar(arguments[0]), **options)
    if origin is dict and arguments[0] is str:
        return fields.Dict(keys=fields.String(), values=_scalar(arguments[1]), **options)
    return _scalar(hint, **options)


def _scalar(hint: object, **options) -> fields.Field:
    if hint not in _SCALARS:
        raise TypeError(f"no schema field for {hint!r}: add it to web/schemas/documents.py")
    return _SCALARS[hint](**options)
