"""Organisations, users and tokens (admin), scoped reads for everyone else."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, delete, get, patch, post
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, JSONBody, QueryParameter

from registry.api.auth import SECURITY, provide_actor, provide_principal, requires
from registry.api.problems import problems
from registry.domain.identity import Principal, Role
from registry.services import identity, invitations
from registry.services.audit import Actor
from schemas.identity import (
    InvitationCreate,
    InvitationCreated,
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

    @post(
        guards=[requires(Role.admin)],
        operation_id="createOrganisation",
        summary="Register an organisation",
        responses=problems(400, 401, 403, 409, 413, 422),
    )
    async def create(
        self, data: JSONBody[OrganisationCreate], actor: NamedDependency[Actor]
    ) -> OrganisationOut:
        """Register a supplier or assessor organisation (admins only). Names are unique: a name
        already taken is refused with 409.
        """
        return await identity.create_organisation(actor, data)

    @get(
        guards=[requires(Role.admin)],
        operation_id="listOrganisations",
        summary="List organisations",
        responses=problems(400, 401, 403, 422),
    )
    async def list_all(self, cursor: Cursor = None, limit: Limit = 50) -> OrganisationPage:
        """Every organisation, oldest first (admins only). Follow `next_cursor` for the next page; a
        cursor this API did not issue is refused with 422.
        """
        return await identity.list_organisations(cursor, limit)

    @get(
        "/{organisation_id:str}",
        guards=[requires()],
        operation_id="getOrganisation",
        summary="Read an organisation",
        responses=problems(400, 401, 404),
    )
    async def read(
        self, organisation_id: FromPath[str], principal: NamedDependency[Principal]
    ) -> OrganisationOut:
        """One organisation. Admins may read any; everyone else only their own, and any other id is
        answered with 404, as if it did not exist.
        """
        return await identity.get_organisation(principal, organisation_id)


_MANAGERS = [requires(Role.admin, Role.supplier_admin)]


class UserController(Controller):
    """Users and their tokens (admin; a supplier admin for its own organisation's members)."""

    path = "/v1/users"
    tags = ["identity"]
    dependencies = _DEPENDENCIES
    security = SECURITY

    @post(
        guards=[requires(Role.admin)],
        operation_id="createUser",
        summary="Create a user",
        responses=problems(400, 401, 403, 409, 413, 422),
    )
    async def create(self, data: JSONBody[UserCreate], actor: NamedDependency[Actor]) -> UserOut:
        """Create a user with one role (admins only). Supplier members belong to a supplier
        organisation, reviewers and lead reviewers to an assessor, admins to none: another
        combination is refused with 422. Emails are unique: one already taken is 409.
        """
        return await identity.create_user(actor, data)

    @patch(
        "/{user_id:str}",
        guards=_MANAGERS,
        operation_id="updateUser",
        summary="Deactivate or reactivate a user",
        responses=problems(400, 401, 403, 404, 413),
    )
    async def update(
        self,
        user_id: FromPath[str],
        data: JSONBody[UserUpdate],
        actor: NamedDependency[Actor],
        principal: NamedDependency[Principal],
    ) -> UserOut:
        """Set whether a user is active (admins; supplier admins for their own organisation's
        members, another user being 404). Deactivating revokes every token the user holds, for
        good, and ends their web sessions at once: a reactivated user needs new tokens.
        """
        return await identity.set_user_active(actor, user_id, data.active, principal)

    @get(
        "/{user_id:str}/tokens",
        guards=_MANAGERS,
        operation_id="listTokens",
        summary="List a user's tokens",
        responses=problems(400, 401, 403, 404),
    )
    async def tokens(
        self, user_id: FromPath[str], principal: NamedDependency[Principal]
    ) -> TokenList:
        """A user's tokens, newest first, with their expiry, revocation and last use; never their
        secrets (admins; supplier admins for their own organisation's members).
        """
        return await identity.list_tokens(user_id, principal)

    @post(
        "/{user_id:str}/tokens",
        guards=_MANAGERS,
        operation_id="createToken",
        summary="Issue a token",
        responses=problems(400, 401, 403, 404, 409, 413, 422),
    )
    async def create_token(
        self,
        user_id: FromPath[str],
        data: JSONBody[TokenCreate],
        actor: NamedDependency[Actor],
        principal: NamedDependency[Principal],
    ) -> TokenCreated:
        """Issue an API token for an active user (admins; supplier admins for their own
        organisation's members). The secret is in this response and nowhere else, ever: the
        registry keeps only its hash. A deactivated user is refused with 409.
        """
        return await identity.create_token(actor, user_id, data, principal)


class TokenController(Controller):
    """Token revocation (admin; a supplier admin for its own organisation's members)."""

    path = "/v1/tokens"
    tags = ["identity"]
    guards = _MANAGERS
    dependencies = _DEPENDENCIES
    security = SECURITY

    @delete(
        "/{token_id:str}",
        status_code=200,
        operation_id="revokeToken",
        summary="Revoke a token",
        responses=problems(400, 401, 403, 404),
    )
    async def revoke(
        self,
        token_id: FromPath[str],
        actor: NamedDependency[Actor],
        principal: NamedDependency[Principal],
    ) -> TokenOut:
        """Revoke a token from now on (admins; supplier admins for their own organisation's
        members' tokens). Revoking a revoked token changes nothing and answers with it as it is,
        first revocation time kept.
        """
        return await identity.revoke_token(actor, token_id, principal)


class InvitationController(Controller):
    """Invitations: a one-time link with which a person sets their password."""

    path = "/v1/invitations"
    tags = ["identity"]
    guards = _MANAGERS
    dependencies = _DEPENDENCIES
    security = SECURITY

    @post(
        operation_id="createInvitation",
        summary="Invite a person",
        responses=problems(400, 401, 403, 404, 409, 413, 422),
    )
    async def create(
        self,
        data: JSONBody[InvitationCreate],
        actor: NamedDependency[Actor],
        principal: NamedDependency[Principal],
    ) -> InvitationCreated:
        """Make a user and a one-time link with which they set their password and can then sign
        in to the pages. The link is in this response only (the registry keeps its hash) and
        works once, for 72 hours. Admins invite anyone into an organisation their role fits;
        supplier admins invite supplier members and supplier admins into their own organisation
        only (another role is 403, another organisation 404). A user who exists without a
        password yet gets a new link that replaces the old; one with a password is 409.
        """
        return (await invitations.invite(actor, principal, data)).out
