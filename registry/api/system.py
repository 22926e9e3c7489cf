"""Liveness and the caller's own identity."""

from __future__ import annotations

from litestar import Controller, Response, get
from litestar.di import NamedDependency, Provide

from registry.api.auth import SECURITY, provide_principal, requires
from registry.api.problems import problems
from registry.domain.identity import Principal
from registry.services import identity, system
from schemas.identity import Me
from schemas.system import Health


@get("/health", tags=["system"], summary="Liveness and database reachability")
async def health() -> Response[Health]:
    """200 when the database answers, 503 (with the same body) when it does not."""
    report = await system.health()
    return Response(report, status_code=200 if report.status == "ok" else 503)


class MeController(Controller):
    """The caller's identity."""

    path = "/v1/me"
    tags = ["identity"]
    guards = [requires()]
    dependencies = {"principal": Provide(provide_principal, sync_to_thread=False)}
    security = SECURITY

    @get(summary="Who am I", responses=problems(401))
    async def me(self, principal: NamedDependency[Principal]) -> Me:
        """The user behind this token, their roles and organisation."""
        return await identity.me(principal)
