"""Strict, bounded JSON request bodies, checked before Litestar decodes them.

Litestar converts a body through its signature model with msgspec's ``strict=False``, which
quietly takes ``"30"`` for an integer and ``"false"``, ``"0"`` or ``0`` for a boolean. The API
promises the types its OpenAPI document shows, so ``refuse_bad_json_body`` (the app's
``before_request`` hook) checks the body of every handler that takes a JSON ``data`` first:

1. the body is not empty: a handler that takes ``data`` needs one;
2. it nests at most ``MAX_DEPTH`` arrays and objects, counted on the bytes before anything decodes
   them (msgspec recurses once per level, so a body nested 1000 deep would end in RecursionError);
3. it decodes with ``strict=True`` into the handler's ``data`` type.

Each refusal is a ``ValidationException`` that ``registry.api.problems`` answers as a 400 problem
whose ``errors`` have source ``body``. Multipart and form handlers (the evidence and PDF uploads)
are left to Litestar. Litestar caches the body it read, so the handler's own decoding reads the same
bytes. Litestar runs only the nearest layer's ``before_request``: a controller or handler that sets
its own must call this one too.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any

import msgspec
from litestar import Request
from litestar.enums import RequestEncodingType
from litestar.exceptions import ValidationException
from litestar.params import BodyKwarg

MAX_DEPTH = 32  # our request Structs nest a few levels; the deepest, a criteria set, eight

# JSON insignificant whitespace (RFC 8259 §2).
_JSON_WHITESPACE = b" \t\r\n"
# A string once its escaped backslashes and quotes are gone; an unterminated one runs to the end.
_STRING = re.compile(rb'"[^"]*"?')
_NOT_BRACKET = bytes(byte for byte in range(256) if byte not in b"[]{}")
_OPENING = frozenset(b"[{")


def nested_deeper_than(body: bytes, limit: int) -> bool:
    """True when the JSON text ``body`` opens more than ``limit`` arrays or objects in one another.

    Exact for well-formed JSON; for malformed JSON it is exact up to the first error, which is as
    far as any decoder reads.
    """
    # Hand-written because msgspec has no depth option. Linear, and C-speed but for the last loop:
    # bytes methods drop escapes, strings and everything but brackets; the loop then walks the
    # brackets alone and stops at the first one past the limit.
    if body.count(b"[") + body.count(b"{") <= limit:
        return False  # a body cannot nest deeper than the brackets it holds
    # Removing every "\\" first leaves "\"" only where a quote is escaped (escapes pair from the
    # left); JSON allows a backslash nowhere outside a string. UTF-8 never puts these ASCII bytes
    # inside a multi-byte character.
    unescaped = body.replace(b"\\\\", b"").replace(b'\\"', b"")
    brackets = _STRING.sub(b"", unescaped).translate(None, _NOT_BRACKET)
    depth = 0
    for byte in brackets:
        if byte in _OPENING:
            depth += 1
            if depth > limit:
                return True
        else:
            depth -= 1
    return False


@cache
def _strict_decoder(data_type: Any) -> msgspec.json.Decoder[Any]:
    return msgspec.json.Decoder(data_type, strict=True)


def _refused(message: str) -> ValidationException:
    # The same shape as Litestar's own body errors, so problems.py words them all alike.
    return ValidationException(
        detail="invalid request body", extra=[{"message": message, "source": "body"}]
    )


async def refuse_bad_json_body(request: Request[Any, Any, Any]) -> None:
    """Refuse a JSON body that is missing, nested too deep, or does not strictly fit ``data``."""
    handler = request.route_handler
    data = handler.parsed_fn_signature.parameters.get("data")
    if data is None or handler.resolve_data_dto() is not None:
        return
    kwarg = data.kwarg_definition
    if isinstance(kwarg, BodyKwarg) and kwarg.media_type != RequestEncodingType.JSON:
        return  # multipart or url-encoded form: Litestar parses it field by field
    body = await request.body()
    if not body.strip(_JSON_WHITESPACE):
        if data.is_optional or data.has_default:
            return
        raise _refused("a JSON request body is required")
    if nested_deeper_than(body, MAX_DEPTH):
        raise _refused(f"the JSON body is nested more than {MAX_DEPTH} levels deep")
    try:
        _strict_decoder(data.annotation).decode(body)
    except msgspec.DecodeError as e:  # ValidationError included: "… - at `$.field`"
        raise _refused(str(e)) from e
