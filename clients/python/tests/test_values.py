"""Every vector of clients/testdata/values.json round-trips through sessiond, typed."""

from __future__ import annotations

from typing import Any

import pytest

import vectors


def test_every_vector_reads_back_with_its_type_and_value(client: Any) -> None:
    writer = client.new_session()
    vectors.write(writer, vectors.load())
    writer.commit()
    assert vectors.mismatches(client.session(writer.id), vectors.load()) == []


def test_a_mismatch_is_reported_by_key(client: Any) -> None:
    written = vectors.load()
    session = client.create({"extra": 1})
    vectors.write(session, written[1:])
    session.set_string(written[1]["key"], "changed")
    session.commit()
    problems = vectors.mismatches(client.session(session.id), written)
    assert [problem.split(":")[0] for problem in problems] == [
        "extra",
        written[0]["key"],
        written[1]["key"],
    ]


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
