"""The typed test vectors of clients/testdata (see its README): decode them, write them with the
typed setters, and check that a session reads them back exactly. Used by the tests and by the
interop driver (tests/interop/drivers/python)."""

from __future__ import annotations

import base64
import json
import math
import struct
from pathlib import Path
from typing import Any

from sessiond import Session

VECTORS_FILE = Path(__file__).resolve().parents[2] / "testdata" / "values.json"
SETTER = {"string": "set_string", "bytes": "set_bytes", "int64": "set_int",
          "double": "set_double", "bool": "set_bool", "json": "set_json"}  # fmt: skip
GETTER = {kind: setter.replace("set_", "get_") for kind, setter in SETTER.items()}
KIND = {"string": "string", "bytes": "bytes", "int64": "int", "double": "double", "bool": "bool",
        "json": "json"}  # fmt: skip


def load(path: Path = VECTORS_FILE) -> list[dict[str, Any]]:
    """The vectors of a values.json file."""
    vectors: list[dict[str, Any]] = json.loads(path.read_text(encoding="utf-8"))["vectors"]
    return vectors


def decode(vector: dict[str, Any]) -> Any:
    """The Python value of one vector."""
    kind = vector["type"]
    if kind == "int64":
        return int(vector["value"])
    if kind == "double":
        return struct.unpack(">d", bytes.fromhex(vector["bits"]))[0]
    if kind == "bytes":
        return base64.b64decode(vector["base64"])
    return vector["value"]


def same_value(kind: str, expected: Any, got: Any) -> bool:
    """Whether `got` is exactly `expected`: doubles bit for bit (any NaN equals any NaN), json
    documents compared parsed."""
    if kind == "double":
        if not isinstance(got, float):
            return False
        if math.isnan(expected):
            return math.isnan(got)
        return struct.pack(">d", expected) == struct.pack(">d", got)
    if kind == "json":
        return json.dumps(got, sort_keys=True) == json.dumps(expected, sort_keys=True)
    return type(got) is type(expected) and got == expected


def write(session: Any, vectors: list[dict[str, Any]]) -> None:
    """Records every vector on `session` with the typed setter of its type."""
    for vector in vectors:
        getattr(session, SETTER[vector["type"]])(vector["key"], decode(vector))


def mismatches(session: Session | Any, vectors: list[dict[str, Any]]) -> list[str]:
    """One line per difference between `session` and `vectors` (`key: expected ..., got ...`):
    keys that are not exactly the vectors' keys, or a value that does not read back through the
    typed getter of its type with that type and value. Empty when they match."""
    problems = []
    expected_keys = {vector["key"] for vector in vectors}
    for key in sorted(set(session.keys()) - expected_keys):
        problems.append(f"{key}: expected no such key, got a {session.kind(key)} value")
    for vector in vectors:
        key, kind = vector["key"], vector["type"]
        expected, got = decode(vector), getattr(session, GETTER[kind])(key)
        if session.kind(key) != KIND[kind] or not same_value(kind, expected, got):
            problems.append(f"{key}: expected {kind} {expected!r}, got {session.kind(key)} {got!r}")
    return problems
