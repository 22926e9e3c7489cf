"""The audit trail (admin)."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, get
from litestar.params import QueryParameter

from registry.api.auth import SECURITY, requires
from registry.api.problems import problems
from registry.domain.identity import Role
from registry.services import audit
from schemas.audit import AuditPage


class AuditController(Controller):
    """Pages through the hash-chained audit trail."""

    path = "/v1/audit"
    tags = ["audit"]
    guards = [requires(Role.admin)]
    security = SECURITY

    @get(
        operation_id="listAuditEvents",
        summary="Page through the audit trail",
        responses=problems(400, 401, 403, 422),
    )
    async def page(
        self,
        cursor: Annotated[str | None, QueryParameter(max_length=200)] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=200)] = 50,
    ) -> AuditPage:
        """Audit events in chain order, each with its hash and the hash it chains from, and whether
        the whole chain verifies as of now. Follow `next_cursor` for the next page; a cursor this
        API did not issue is refused with 422. Admins only.
        """
        return await audit.page(cursor, limit)
