"""Organisations, users and tokens (admin), scoped reads for everyone else."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, delete, get, patch, post
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, JSONBody, QueryParameter

from registry.api.auth import SECURITY, provide_actor, provide_principal, requires
from registry.api.problems import problems
from registry.domain.identity import Principal, Role
from registry.services import identity
from registry.services.audit import Actor
from schemas.identity import (
    OrganisationCreate,
    OrganisationOut,
    OrganisationPage,
    TokenCreate,
    TokenCreated,
    TokenList,
    TokenOut,
    UserCreate,
    UserOut,
    UserUpdate,
)

Limit = Annotated[int, QueryParameter(ge=1, le=200)]
Cursor = Annotated[str | None, QueryParameter(max_length=200)]

_DEPENDENCIES = {
    "principal": Provide(provide_principal, sync_to_thread=False),
    "actor": Provide(provide_actor, sync_to_thread=False),
}


class OrganisationController(Controller):
    """Suppliers and assessors."""

    path = "/v1/organisations"
    tags = ["identity"]
    dependencies = _DEPENDENCIES
    security = SECURITY

    @post(guards=[requires(Role.admin)], responses=problems(401, 403, 409, 422))
    async def create(
        self, data: JSONBody[OrganisationCreate], actor: NamedDependency[Actor]
    ) -> OrganisationOut:
        """Register an organisation (admin)."""
        return await identity.create_organisation(actor, data)

    @get(guards=[requires(Role.admin)], responses=problems(401, 403, 422))
    async def list_all(self, cursor: Cursor = None, limit: Limit = 50) -> OrganisationPage:
        """Every organisation, oldest first (admin)."""
        return await identity.list_organisations(cursor, limit)

    @get("/{organisation_id:str}", guards=[requires()], responses=problems(401, 404))
    async def read(
        self, organisation_id: FromPath[str], principal: NamedDependency[Principal]
    ) -> OrganisationOut:
        """One organisation: admins read any, members only their own."""
        return await identity.get_organisation(principal, organisation_id)


class UserController(Controller):
    """Users and their tokens (admin)."""

    path = "/v1/users"
    tags = ["identity"]
    guards = [requires(Role.admin)]
    dependencies = _DEPENDENCIES
    security = SECURITY

    @post(responses=problems(401, 403, 409, 422))
    async def create(self, data: JSONBody[UserCreate], actor: NamedDependency[Actor]) -> UserOut:
        """Create a user with one role."""
        return await identity.create_user(actor, data)

    @patch("/{user_id:str}", responses=problems(401, 403, 404))
    async def update(
        self, user_id: FromPath[str], data: JSONBody[UserUpdate], actor: NamedDependency[Actor]
    ) -> UserOut:
        """Deactivate or reactivate a user."""
        return await identity.set_user_active(actor, user_id, data.active)

    @get("/{user_id:str}/tokens", responses=problems(401, 403, 404))
    async def tokens(self, user_id: FromPath[str]) -> TokenList:
        """A user's tokens, without their secrets."""
        return await identity.list_tokens(user_id)

    @post("/{user_id:str}/tokens", responses=problems(401, 403, 404, 409))
    async def create_token(
        self, user_id: FromPath[str], data: JSONBody[TokenCreate], actor: NamedDependency[Actor]
    ) -> TokenCreated:
        """Issue a token; its secret is in this response and nowhere else, ever."""
        return await identity.create_token(actor, user_id, data)


class TokenController(Controller):
    """Token revocation (admin)."""

    path = "/v1/tokens"
    tags = ["identity"]
    guards = [requires(Role.admin)]
    dependencies = _DEPENDENCIES
    security = SECURITY

    @delete("/{token_id:str}", status_code=200, responses=problems(401, 403, 404))
    async def revoke(self, token_id: FromPath[str], actor: NamedDependency[Actor]) -> TokenOut:
        """Revoke a token from now on."""
        return await identity.revoke_token(actor, token_id)
