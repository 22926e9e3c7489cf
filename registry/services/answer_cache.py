"""A short-lived, in-process memory of verification answers and trust material.

Verification by ID is the hottest public path; its answer changes only when a status, a key or
the clock does. Entries live for ``TTL`` seconds and are dropped at once by this process when it
changes a status or a key, so a revocation is visible here immediately and in every other
process within ``TTL`` (DESIGN §10: within 1 s). Keys include the registry clock's second, so
an answer never outlives the second it was computed in.
"""

from __future__ import annotations

import time
from typing import Any

TTL = 0.8
MAX_ENTRIES = 10_000

_entries: dict[Any, tuple[float, Any]] = {}


def get(key: Any) -> Any | None:
    """The remembered value for ``key`` if it is still fresh."""
    found = _entries.get(key)
    if found is None:
        return None
    expires, value = found
    if time.monotonic() >= expires:
        _entries.pop(key, None)
        return None
    return value


def put(key: Any, value: Any) -> None:
    """Remember ``value`` for ``TTL`` seconds (the memory is bounded: full means start afresh)."""
    if len(_entries) >= MAX_ENTRIES:
        _entries.clear()
    _entries[key] = (time.monotonic() + TTL, value)


def clear() -> None:
    """Forget everything: called when this process changes a status or a key."""
    _entries.clear()
