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

    @get(responses=problems(401, 403, 422))
    async def page(
        self,
        cursor: Annotated[str | None, QueryParameter(max_length=200)] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=200)] = 50,
    ) -> AuditPage:
        """Events in chain order, with whether the whole chain verifies."""
        return await audit.page(cursor, limit)
