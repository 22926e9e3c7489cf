"""Conditional GETs (RFC 9110 §13): a strong ETag over the exact bytes sent, and 304 Not Modified
when the client's If-None-Match already names it.

Rules enforced here:
- the ETag is strong: the SHA-256 of the body bytes, which are the bytes sent, never re-encoded
  (for a stored PDF, which is content-addressed, that is the digest it is stored under);
- If-None-Match matches on ``*`` or on any listed tag by weak comparison (RFC 9110 §13.1.2),
  so ``W/"x"`` matches ``"x"``; a match answers 304 with no body but the same ETag and
  Cache-Control a 200 would carry (RFC 9110 §15.4.5).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from typing import Annotated, Any

from litestar import Response
from litestar.datastructures import ResponseHeader
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import HeaderParameter

# Revalidate on every use: the certificate's status can change at any moment.
REVALIDATE = "public, no-cache"
# Fixed at issuance and never re-rendered: cache for a year; the ETag still answers a revalidation.
IMMUTABLE = "public, max-age=31536000, immutable"

IfNoneMatch = Annotated[
    str | None,
    HeaderParameter(
        name="If-None-Match",
        required=False,
        max_length=2000,
        description="ETags the client holds (or *): 304 with no body when one is current",
    ),
]

NOT_MODIFIED: dict[int, ResponseSpec] = {
    304: ResponseSpec(
        data_container=None,
        description="Not modified: If-None-Match names the current ETag; no body",
    )
}


def cache_headers(cache_control: str) -> list[ResponseHeader]:
    """OpenAPI declarations of the ETag and Cache-Control a conditional GET sends."""
    return [
        ResponseHeader(
            name="ETag",
            value='"<SHA-256 of the body, hex>"',
            description="Strong entity tag of these exact bytes; send it back in If-None-Match",
            documentation_only=True,
        ),
        ResponseHeader(
            name="Cache-Control",
            value=cache_control,
            description=f"Always {cache_control}",
            documentation_only=True,
        ),
    ]


def entity_tag(body: bytes) -> str:
    """The strong ETag of ``body``: its SHA-256 in hex, quoted (RFC 9110 §8.8.3)."""
    return f'"{hashlib.sha256(body).hexdigest()}"'


# An entity-tag (RFC 9110 §8.8.3): an optional weakness prefix and a quoted opaque tag, which
# may itself hold commas, so a list is read tag by tag rather than split on commas.
_ENTITY_TAG = re.compile(r'(?:W/)?("[\x21\x23-\x7e\x80-\xff]*")')


def none_match(if_none_match: str | None, etag: str) -> bool:
    """True when If-None-Match names ``etag`` (weak comparison) or is ``*``."""
    if if_none_match is None:
        return False
    if if_none_match.strip() == "*":
        return True
    opaque = etag.removeprefix("W/")
    return any(tag == opaque for tag in _ENTITY_TAG.findall(if_none_match))


def conditional(
    body: bytes,
    *,
    if_none_match: str | None,
    media_type: str,
    cache_control: str,
    headers: Mapping[str, str] | None = None,
) -> Response[Any]:
    """``body`` with its ETag and Cache-Control, or 304 with no body when the client holds it.

    The handler's return annotation names what the bytes encode, for the OpenAPI document;
    Litestar sends ``bytes`` content unchanged. ``headers`` go with the 200 only.
    """
    validators = {"ETag": entity_tag(body), "Cache-Control": cache_control}
    if none_match(if_none_match, validators["ETag"]):
        return Response(b"", status_code=304, media_type=media_type, headers=validators)
    return Response(body, media_type=media_type, headers={**(headers or {}), **validators})
