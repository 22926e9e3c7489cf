"""Organisations, users, tokens and the caller's identity."""

from __future__ import annotations

from typing import Annotated

import msgspec

from registry.domain.identity import OrganisationKind, Role
from schemas.base import ONE_LINE, Request, Response, UtcTime

Name = Annotated[str, msgspec.Meta(min_length=1, max_length=200, pattern=ONE_LINE)]
Email = Annotated[
    str,
    msgspec.Meta(
        min_length=3, max_length=254, pattern=r"^[^@\s\x00-\x1f\x7f]+@[^@\s\x00-\x1f\x7f]+$"
    ),
]
Label = Annotated[str, msgspec.Meta(min_length=1, max_length=100, pattern=ONE_LINE)]


class OrganisationCreate(Request):
    """Register a supplier or assessor organisation."""

    name: Name
    kind: OrganisationKind


class OrganisationOut(Response, frozen=True):
    """An organisation as the API shows it."""

    id: str
    name: str
    kind: OrganisationKind
    created_at: UtcTime


class OrganisationPage(Response, frozen=True):
    """One page of organisations, oldest first."""

    items: list[OrganisationOut]
    next_cursor: str | None


class UserCreate(Request):
    """Create a user with one role; suppliers' members and reviewers name their organisation."""

    email: Email
    name: Name
    role: Role
    organisation_id: str | None = None


class UserUpdate(Request):
    """Deactivate (or reactivate) a user; a deactivated user's tokens stop working at once."""

    active: bool


class UserOut(Response, frozen=True):
    """A user as the API shows it."""

    id: str
    email: str
    name: str
    role: Role
    organisation_id: str | None
    active: bool
    created_at: UtcTime


class TokenCreate(Request):
    """Issue a token for a user; it expires after ``expires_in_days`` (default from settings)."""

    label: Label = "api"
    expires_in_days: Annotated[int, msgspec.Meta(ge=1, le=730)] | None = None


class TokenOut(Response, frozen=True):
    """A token as listings show it: never the secret."""

    id: str
    user_id: str
    label: str
    prefix: str
    created_at: UtcTime
    expires_at: UtcTime | None
    revoked_at: UtcTime | None
    last_used_at: UtcTime | None


class TokenCreated(Response, frozen=True):
    """A newly issued token: ``token`` is shown this once and never again."""

    token: str
    details: TokenOut


class TokenList(Response, frozen=True):
    """Every token of one user, newest first."""

    items: list[TokenOut]


class Me(Response, frozen=True):
    """Who the caller is."""

    user: UserOut
    roles: list[Role]
    organisation: OrganisationOut | None
    token_id: str


class InvitationCreate(Request):
    """Invite a person: their user is made now, and signs in once they set a password through
    the one-time link. A supplier admin invites only into its own organisation, as a supplier
    member or supplier admin."""

    email: Email
    name: Name
    role: Role
    organisation_id: str | None = None


class InvitationCreated(Response, frozen=True):
    """A new invitation: ``link`` is shown this once (only its hash is kept) and works once,
    until ``expires_at``."""

    id: str
    link: str
    expires_at: UtcTime
    user: UserOut
