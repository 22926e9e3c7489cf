"""The two base Structs every request and response derives from (STYLE §4)."""

from __future__ import annotations

from typing import Annotated

import msgspec


class Request(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """A request body: keyword-only, unknown fields refused."""


class Response(msgspec.Struct, kw_only=True, frozen=True):
    """A response body: immutable once built."""


class Problem(Response, frozen=True):
    """An RFC 9457 problem document, as every error is returned."""

    type: str
    title: str
    status: int
    detail: str
    field: str | None = None
    errors: list[dict[str, str]] | None = None


# Text that people type: no control characters on one line (PostgreSQL refuses NUL outright,
# and a NUL or escape code in a name is never intended); multi-line text may hold tabs and newlines.
ONE_LINE = r"^(?=.*\S)[^\x00-\x1f\x7f]+$"
MULTI_LINE = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$"

UnixTime = Annotated[int, msgspec.Meta(ge=0, description="UTC time in whole seconds")]
Cursor = Annotated[str, msgspec.Meta(max_length=200, description="opaque page cursor")]
PageLimit = Annotated[int, msgspec.Meta(ge=1, le=200)]
