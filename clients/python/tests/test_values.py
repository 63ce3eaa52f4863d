"""Every vector of clients/testdata/values.json round-trips through sessiond, typed."""

from __future__ import annotations

from typing import Any

import pytest

from conftest import VECTORS, decode_vector, same_value

SETTER = {
    "string": "set_string",
    "bytes": "set_bytes",
    "int64": "set_int",
    "double": "set_double",
    "bool": "set_bool",
    "json": "set_json",
}
GETTER = {name: setter.replace("set_", "get_") for name, setter in SETTER.items()}
KIND = {
    "string": "string",
    "bytes": "bytes",
    "int64": "int",
    "double": "double",
    "bool": "bool",
    "json": "json",
}


def test_every_vector_reads_back_with_its_type_and_value(client: Any) -> None:
    writer = client.new_session()
    for vector in VECTORS:
        getattr(writer, SETTER[vector["type"]])(vector["key"], decode_vector(vector))
    writer.commit()

    reader = client.session(writer.id)
    assert reader.keys() == sorted(vector["key"] for vector in VECTORS)
    for vector in VECTORS:
        key, kind = vector["key"], vector["type"]
        got = getattr(reader, GETTER[kind])(key)
        assert reader.kind(key) == KIND[kind], key
        assert same_value(kind, decode_vector(vector), got), f"{key}: got {got!r}"
        assert same_value(kind, decode_vector(vector), reader.get(key)), key


def test_getters_do_not_convert_between_kinds(client: Any) -> None:
    session = client.create({"text": "5", "count": 5, "ratio": 5.0, "flag": True})
    reader = client.session(session.id)
    assert reader.get_int("text") is None
    assert reader.get_string("count") is None
    assert reader.get_double("count") is None
    assert reader.get_int("ratio") is None
    assert reader.get_int("flag") is None
    assert reader.get_bool("count") is None
    assert reader.get_json("text") is None
    assert reader.get_string("absent") is None
    assert reader.kind("absent") is None


@pytest.mark.parametrize(
    ("value", "kind"),
    [
        ("text", "string"),
        (b"\x00", "bytes"),
        (True, "bool"),
        (7, "int"),
        (2**63, "json"),
        (0.5, "double"),
        ({"a": [1]}, "json"),
        ([1, 2], "json"),
        ((1, 2), "json"),
        (None, "json"),
    ],
)
def test_untyped_set_stores_per_the_cookie_spec_table(client: Any, value: Any, kind: str) -> None:
    session = client.create({"value": value})
    reader = client.session(session.id)
    assert reader.kind("value") == kind
    expected = list(value) if isinstance(value, tuple) else value
    assert reader.get("value") == expected


def test_json_rejects_what_json_cannot_hold(client: Any) -> None:
    session = client.new_session()
    with pytest.raises(ValueError):
        session.set_json("nan", float("nan"))
    with pytest.raises(TypeError):
        session.set_json("object", object())
    with pytest.raises(ValueError):
        session.set_int("big", 2**63)
