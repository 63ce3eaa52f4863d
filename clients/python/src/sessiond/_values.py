"""Conversion between Python values and sessiond.v1.Value, one rule for every API of this package.

| Python value | Value kind |
|---|---|
| str | string_value |
| bytes, bytearray | bytes_value |
| bool | bool_value |
| int within int64 | int64_value |
| float | double_value |
| anything else JSON can hold (dict, list, tuple, None, an int beyond int64) | json_value |

This is the table of docs/COOKIES.md, so what one language's framework session stores, every other
reads as the same value.
"""

from __future__ import annotations

import json
from typing import Literal, TypeAlias

from sessiond.v1 import session_pb2 as pb

JsonValue: TypeAlias = "bool | int | float | str | list[JsonValue] | tuple[JsonValue, ...] | dict[str, JsonValue] | None"  # noqa: E501
"""What a json value may hold (tuples are stored as JSON arrays and read back as lists)."""

SessionValue: TypeAlias = "str | bytes | bool | int | float | JsonValue"
"""Any value a session entry can hold; see the module's table for how each is stored."""

ValueKind = Literal["string", "bytes", "int", "double", "bool", "json"]
"""The kind of a stored value: the sessiond.v1.Value oneof case, named as this package's getters."""

_KIND_OF_CASE: dict[str, ValueKind] = {
    "string_value": "string",
    "bytes_value": "bytes",
    "int64_value": "int",
    "double_value": "double",
    "bool_value": "bool",
    "json_value": "json",
}
INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1


def kind_of(value: pb.Value) -> ValueKind | None:
    """The kind `value` holds; None for a Value with no kind set (written by a newer client)."""
    case = value.WhichOneof("kind")
    return _KIND_OF_CASE[case] if case is not None else None


def json_value(document: JsonValue) -> pb.Value:
    """A json Value holding `document` as RFC 8259 text; ValueError for NaN or infinities (JSON
    has none), TypeError for what JSON cannot hold."""
    return pb.Value(json_value=json.dumps(document, allow_nan=False, ensure_ascii=False))


def to_value(value: SessionValue) -> pb.Value:
    """The Value that stores `value` per the module's table."""
    if isinstance(value, str):
        return pb.Value(string_value=value)
    if isinstance(value, (bytes, bytearray)):
        return pb.Value(bytes_value=bytes(value))
    if isinstance(value, bool):
        return pb.Value(bool_value=value)
    if isinstance(value, int) and INT64_MIN <= value <= INT64_MAX:
        return pb.Value(int64_value=value)
    if isinstance(value, float):
        return pb.Value(double_value=value)
    return json_value(value)


def from_value(value: pb.Value) -> SessionValue:
    """The Python value `value` holds: the inverse of to_value (json documents parsed); None for a
    Value with no kind set."""
    kind = kind_of(value)
    if kind == "string":
        return value.string_value
    if kind == "bytes":
        return value.bytes_value
    if kind == "int":
        return value.int64_value
    if kind == "double":
        return value.double_value
    if kind == "bool":
        return value.bool_value
    if kind == "json":
        return parse_json(value.json_value)
    return None


def parse_json(text: str) -> JsonValue:
    """The document `text` holds."""
    document: JsonValue = json.loads(text)
    return document
