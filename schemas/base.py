"""The two base Structs every request and response derives from (STYLE §4)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

import msgspec


class Request(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """A request body: keyword-only, unknown fields refused."""


class Response(msgspec.Struct, kw_only=True, frozen=True):
    """A response body: immutable once built."""


class ProblemError(Response, frozen=True):
    """One thing wrong with the input: what, and where (its field, and the part of the request)."""

    message: str
    field: str | None = None
    source: Literal["body", "query", "path", "header"] | None = None


class Problem(Response, frozen=True):
    """An RFC 9457 problem document, as every error is returned."""

    type: str
    title: str
    status: int
    detail: str
    field: str | None = None
    errors: list[ProblemError] | None = None


# Text that people type: no control characters on one line (PostgreSQL refuses NUL outright,
# and a NUL or escape code in a name is never intended); multi-line text may hold tabs and newlines.
# "Not blank" is spelt without look-ahead, as leading whitespace, one character that is not
# whitespace, then anything allowed: schemathesis stalls generating strings for `(?=…)`, and the
# first two classes are disjoint, so matching never backtracks more than once per character.
# The words a client reads for each pattern are in registry.api.problems (PATTERN_WORDS).
ONE_LINE = r"^[^\S\x00-\x1f\x7f]*[^\s\x00-\x1f\x7f][^\x00-\x1f\x7f]*$"
MULTI_LINE = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$"
MULTI_LINE_NOT_BLANK = (
    r"^[^\S\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*"
    r"[^\s\x00-\x08\x0b\x0c\x0e-\x1f\x7f]"
    r"[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$"
)

# Times are stored as integer UTC seconds and answered as RFC 3339 UTC to the second (RFC 3339
# §5.6), built by registry.domain.dates.as_datetime: msgspec writes an aware UTC datetime with a
# "Z" and no fraction when it has no microseconds.
UtcTime = Annotated[
    datetime,
    msgspec.Meta(
        tz=True,
        description="UTC time to the second (RFC 3339)",
        examples=["2026-11-30T05:23:26Z"],
    ),
]
Cursor = Annotated[str, msgspec.Meta(max_length=200, description="opaque page cursor")]
PageLimit = Annotated[int, msgspec.Meta(ge=1, le=200)]
