"""What the Flask and Django integrations share: a framework session is a dict of top-level keys
loaded from one sessiond session, and its commit writes only the keys the request changed.
"""

from __future__ import annotations

from collections.abc import Mapping

from sessiond import _values
from sessiond._core import SessionCore
from sessiond._values import SessionValue


def snapshot(data: Mapping[str, SessionValue]) -> dict[str, bytes]:
    """Each value of `data` as the bytes it is stored as, to tell later what changed."""
    return {
        key: _values.to_value(value).SerializeToString(deterministic=True)
        for key, value in data.items()
    }


def loaded_data(session: SessionCore) -> dict[str, SessionValue]:
    """Every entry of `session` as a Python value (json documents parsed)."""
    return {key: session.get(key) for key in session.keys()}  # noqa: SIM118


def record_changes(
    session: SessionCore, loaded: Mapping[str, bytes], data: Mapping[str, SessionValue]
) -> None:
    """Record on `session` a set of each key of `data` whose value differs from its snapshot in
    `loaded` (a new key, a replaced value, or a list or dict changed in place) and a removal of
    each loaded key `data` no longer has. Keys the request did not change are not written, so they
    cannot conflict with another request's writes."""
    current = snapshot(data)
    for key, stored in current.items():
        if loaded.get(key) != stored:
            session.set(key, data[key])
    for key in loaded.keys() - current.keys():
        session.remove(key)
