"""Canonical JSON (DESIGN §4): the one byte form that every hash and signature covers.

Values are strings, integers, booleans, null, lists and objects only; floats are refused
because their text form is not exact. Keys are sorted by msgspec.
"""

from __future__ import annotations

import hashlib
from typing import Any

import msgspec

_ALLOWED_SCALARS = (str, int, bool, type(None))


def _check(value: Any, path: str) -> None:
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise TypeError(f"canonical JSON keys must be strings, found {key!r} at {path}")
            _check(item, f"{path}.{key}")
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            _check(item, f"{path}[{index}]")
    elif isinstance(value, float) or not isinstance(value, _ALLOWED_SCALARS):
        raise TypeError(
            f"canonical JSON holds str/int/bool/null/list/object only, "
            f"found {type(value).__name__} at {path}"
        )


def canonical_json(value: Any) -> bytes:
    """Encode ``value`` as canonical JSON bytes, refusing floats and other inexact types."""
    _check(value, "$")
    return msgspec.json.encode(value, order="sorted")


def sha256_hex(data: bytes) -> str:
    """Hex SHA-256 of ``data``."""
    return hashlib.sha256(data).hexdigest()


def canonical_digest(value: Any) -> str:
    """Hex SHA-256 of the canonical JSON of ``value``."""
    return sha256_hex(canonical_json(value))
