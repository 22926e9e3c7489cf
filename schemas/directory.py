"""The public directory: assessed products (certificates) with their current status."""

from __future__ import annotations

from typing import Annotated

import msgspec

from registry.domain.certificate import Reason, ShownStatus
from schemas.base import Request, Response, UtcTime
from schemas.criteria import CRITERIA_SET_KEY_PATTERN, EsfTier

# Limits and patterns of the search parameters, shared by the controller's query parameters.
MAX_QUERY_CHARS = 100
MAX_SUPPLIER_CHARS = 200
DEFAULT_PAGE = 20
MAX_PAGE = 100
# One line of typed text, possibly empty: no control characters (PostgreSQL refuses NUL outright).
SEARCH_TEXT_PATTERN = r"^[^\x00-\x1f\x7f]*$"
CRITERIA_SET_REF_PATTERN = CRITERIA_SET_KEY_PATTERN.removesuffix("$") + r"/[1-9][0-9]{0,8}$"


class DirectoryQuery(Request):
    """One directory search, as the controller validated it from the query string."""

    q: str = ""
    status: ShownStatus | None = None
    tier: EsfTier | None = None
    supplier: str | None = None
    criteria_set: str | None = None
    cursor: str | None = None
    limit: int = DEFAULT_PAGE


class EntryLinks(Response, frozen=True):
    """Where to go next for one entry."""

    verify: Annotated[
        str, msgspec.Meta(description="the verification page", examples=["/v/MKR-7Q4K-9X2M-G"])
    ]
    certificate: Annotated[str, msgspec.Meta(description="the full certificate record")]


class DirectoryEntry(Response, frozen=True):
    """An assessed product as the directory lists it, with the status people see now."""

    certificate_id: str
    product_name: str
    product_version: str
    supplier_name: str
    esf_tier: str
    device_class: str
    criteria_set: Annotated[
        str, msgspec.Meta(description="key/version", examples=["kitemark-core/1"])
    ]
    issued_at: UtcTime
    valid_until: UtcTime
    status: Annotated[
        ShownStatus, msgspec.Meta(description="expired once valid_until has passed (not stored)")
    ]
    status_reason: Reason | None
    status_note: str | None
    status_changed_at: UtcTime | None
    superseded_by: str | None
    links: EntryLinks


class DirectoryPage(Response, frozen=True):
    """One page of search results, best match first; ``next_cursor`` is null on the last page."""

    items: list[DirectoryEntry]
    next_cursor: str | None
