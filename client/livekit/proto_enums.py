"""Names of protobuf enum values that may come from a newer (or hostile) peer.

A value this version of the protocol does not know is legal on the wire; the
generated ``Name()`` raises on it, which must never break message handling.
"""

from __future__ import annotations

from typing import Protocol


class _EnumWrapper(Protocol):
    def Name(self, number: int) -> str: ...


def enum_name(wrapper: _EnumWrapper, value: int) -> str:
    try:
        return wrapper.Name(value)
    except ValueError:
        return f"UNKNOWN_{value}"
