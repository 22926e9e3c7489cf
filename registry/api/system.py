"""Liveness and the caller's own identity."""

from __future__ import annotations

from litestar import Controller, Response, get
from litestar.di import NamedDependency, Provide
from litestar.openapi.datastructures import ResponseSpec

from registry.api.auth import SECURITY, provide_principal, requires
from registry.api.problems import problems
from registry.domain.identity import Principal
from registry.services import identity, system
from schemas.identity import Me
from schemas.system import Health


@get(
    "/health",
    tags=["system"],
    operation_id="getHealth",
    summary="Check liveness and database reachability",
    responses={
        503: ResponseSpec(
            data_container=Health,
            description="The database does not answer (the body says so)",
            generate_examples=False,
        ),
        **problems(),
    },
)
async def health() -> Response[Health]:
    """Whether the registry is running and its database answers. Needs no token and is not rate
    limited, so load balancers and monitors can call it freely; the body is the same shape
    whether the database answers (200) or not (503).
    """
    report = await system.health()
    return Response(report, status_code=200 if report.status == "ok" else 503)


class MeController(Controller):
    """The caller's identity."""

    path = "/v1/me"
    tags = ["identity"]
    guards = [requires()]
    dependencies = {"principal": Provide(provide_principal, sync_to_thread=False)}
    security = SECURITY

    @get(
        operation_id="getMe",
        summary="Show the caller's identity",
        responses=problems(401),
    )
    async def me(self, principal: NamedDependency[Principal]) -> Me:
        """The user behind the bearer token, their effective roles, their organisation and the
        token's id. Any valid token may call it: a client can check a token with it first.
        """
        return await identity.me(principal)
