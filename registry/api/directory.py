"""The public directory of assessed products."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, get
from litestar.params import QueryParameter

from registry.api.problems import problems
from registry.domain.certificate import ShownStatus
from registry.services import directory
from schemas.base import ONE_LINE
from schemas.criteria import EsfTier
from schemas.directory import (
    CRITERIA_SET_REF_PATTERN,
    DEFAULT_PAGE,
    MAX_PAGE,
    MAX_QUERY_CHARS,
    MAX_SUPPLIER_CHARS,
    SEARCH_TEXT_PATTERN,
    DirectoryPage,
    DirectoryQuery,
)


class DirectoryController(Controller):
    """Search certificates by name, supplier, status, tier and criteria set (public)."""

    path = "/v1/directory"
    tags = ["directory"]

    @get(
        operation_id="searchDirectory",
        summary="Search the directory of assessed products",
        responses=problems(400, 422, 429),
    )
    async def search(
        self,
        q: Annotated[
            str,
            QueryParameter(
                max_length=MAX_QUERY_CHARS,
                pattern=SEARCH_TEXT_PATTERN,
                description=(
                    "Text to find, literally and in any case, in product names, supplier names"
                    " and intended purposes; empty lists everything, newest first"
                ),
            ),
        ] = "",
        status: Annotated[
            ShownStatus | None,
            QueryParameter(description="the status shown now; expired is derived from the date"),
        ] = None,
        tier: Annotated[EsfTier | None, QueryParameter(description="NICE ESF tier")] = None,
        supplier: Annotated[
            str | None,
            QueryParameter(
                max_length=MAX_SUPPLIER_CHARS,
                pattern=ONE_LINE,
                description="the supplier's whole name as on the certificate, any case",
            ),
        ] = None,
        criteria_set: Annotated[
            str | None,
            QueryParameter(pattern=CRITERIA_SET_REF_PATTERN, description="key/version"),
        ] = None,
        cursor: Annotated[str | None, QueryParameter(max_length=200)] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=MAX_PAGE)] = DEFAULT_PAGE,
    ) -> DirectoryPage:
        """Certificates with their product, supplier and the status shown now, filtered by text,
        status, tier, supplier and criteria set. With `q`, best matches come first, then the
        newest; without it, newest first. Follow `next_cursor` for the next page (with the same
        filters); a cursor this API did not issue is refused with 422. Public, and rate limited
        per client address.
        """
        return await directory.search(
            DirectoryQuery(
                q=q,
                status=status,
                tier=tier,
                supplier=supplier,
                criteria_set=criteria_set,
                cursor=cursor,
                limit=limit,
            )
        )
