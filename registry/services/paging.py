"""Opaque page cursors: base64url of a small canonical JSON object."""

from __future__ import annotations

import base64
import binascii
import uuid
from typing import Any

import msgspec

from registry.domain.canonical import canonical_json
from registry.errors import InvalidInput


def encode_cursor(position: dict[str, Any]) -> str:
    """Wrap a page position so clients treat it as opaque."""
    return base64.urlsafe_b64encode(canonical_json(position)).rstrip(b"=").decode("ascii")


MAX_POSITION = 2**62


def is_position(value: object) -> bool:
    """True for an int (not a bool) that fits every engine's 64-bit integer columns."""
    return type(value) is int and 0 <= value < MAX_POSITION


def decode_cursor(cursor: str, *, keys: set[str]) -> dict[str, Any]:
    """Unwrap a cursor made by ``encode_cursor``; anything else is a 422 naming ``cursor``."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        value = msgspec.json.decode(raw)
    except (binascii.Error, ValueError, msgspec.DecodeError) as e:
        raise InvalidInput("the cursor is not one this API issued", field="cursor") from e
    if not isinstance(value, dict) or set(value) != keys:
        raise InvalidInput("the cursor is not one this API issued", field="cursor")
    return value


def decode_time_id_cursor(cursor: str) -> tuple[int, uuid.UUID]:
    """Unwrap a (time, id) cursor, the shape every time-ordered listing uses."""
    value = decode_cursor(cursor, keys={"t", "id"})
    try:
        if not is_position(value["t"]):
            raise TypeError("t")
        return value["t"], uuid.UUID(str(value["id"]))
    except (TypeError, ValueError) as e:
        raise InvalidInput("the cursor is not one this API issued", field="cursor") from e


def encode_time_id_cursor(t: int, id_: str) -> str:
    """Wrap the (time, id) position of the last item of a page."""
    return encode_cursor({"t": t, "id": id_})
