"""Guards that authenticate the bearer token and check roles, and the principal dependency."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from litestar import Request
from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler

from registry.domain.identity import Principal, Role
from registry.errors import Forbidden
from registry.services import identity
from registry.services.audit import Actor

Guard = Callable[[ASGIConnection[Any, Any, Any, Any], BaseRouteHandler], Awaitable[None]]

SECURITY: list[dict[str, list[str]]] = [{"BearerToken": []}]


def requires(*roles: Role) -> Guard:
    """A guard admitting a valid token whose user holds one of ``roles`` (any role if none)."""

    async def guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
        # The idempotency middleware may have authenticated this request already.
        principal = connection.state.get("principal") or await identity.authenticate(
            connection.headers.get("authorization")
        )
        if roles and not principal.has_role(*roles):
            wanted = " or ".join(role.value for role in roles)
            raise Forbidden(
                f"this operation needs the {wanted} role; the token's is {principal.role.value}"
            )
        connection.state.principal = principal

    return guard


def provide_principal(request: Request[Any, Any, Any]) -> Principal:
    """The principal the guard authenticated for this request."""
    principal: Principal = request.state.principal
    return principal


def provide_actor(request: Request[Any, Any, Any]) -> Actor:
    """The audit actor for this request: the authenticated user's id."""
    return Actor(provide_principal(request).user_id)
