"""Who may act: organisation kinds, roles, and the API token format (DESIGN §1).

Tokens are ``mkr_`` followed by 32 random bytes in base64url; only their SHA-256 is kept,
so a leaked database cannot be replayed as credentials.
"""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
from enum import StrEnum

from registry.errors import InvalidInput

TOKEN_PREFIX = "mkr_"  # noqa: S105 — the public prefix, not a secret
TOKEN_RANDOM_BYTES = 32
# The shown prefix is long enough to tell tokens apart in a listing, far too short to guess from.
TOKEN_DISPLAY_CHARS = 8
_TOKEN_SHAPE = re.compile(r"^mkr_[A-Za-z0-9_-]{43}$")


class OrganisationKind(StrEnum):
    """A supplier submits dossiers; an assessor employs reviewers."""

    supplier = "supplier"
    assessor = "assessor"


class Role(StrEnum):
    """One role per user; a lead reviewer can also do everything a reviewer does, and a
    supplier admin everything a supplier member does."""

    admin = "admin"
    reviewer = "reviewer"
    lead_reviewer = "lead_reviewer"
    supplier_member = "supplier_member"
    supplier_admin = "supplier_admin"


# Which organisation kind a role's user belongs to (None: to no organisation at all). An
# admin sees every organisation's drafts, so an admin inside a supplier would blur whose side
# they are on: the registry's administrators belong to none.
ROLE_ORGANISATION_KIND: dict[Role, OrganisationKind | None] = {
    Role.admin: None,
    Role.reviewer: OrganisationKind.assessor,
    Role.lead_reviewer: OrganisationKind.assessor,
    Role.supplier_member: OrganisationKind.supplier,
    Role.supplier_admin: OrganisationKind.supplier,
}

# The roles a supplier admin may give the people it invites: its own organisation's, no other.
SUPPLIER_ADMIN_GRANTS = frozenset({Role.supplier_member, Role.supplier_admin})


def check_membership(role: Role, kind: OrganisationKind | None) -> None:
    """Refuse a user whose organisation (of ``kind``, None for none) does not fit ``role``."""
    needed = ROLE_ORGANISATION_KIND[role]
    if needed is None and kind is not None:
        raise InvalidInput(
            f"an {role.value} belongs to no organisation; leave organisation_id out"
            f" (got a {kind.value} organisation)",
            field="organisation_id",
        )
    if needed is None:
        return
    if kind is None:
        raise InvalidInput(
            f"a {role.value} must name a {needed.value} organisation", field="organisation_id"
        )
    if kind is not needed:
        raise InvalidInput(
            f"a {role.value} belongs to a {needed.value} organisation, got a {kind.value}",
            field="organisation_id",
        )


def effective_roles(role: Role) -> list[Role]:
    """The roles a user acts with: a lead reviewer is also a reviewer, a supplier admin also a
    supplier member."""
    if role is Role.lead_reviewer:
        return [Role.lead_reviewer, Role.reviewer]
    if role is Role.supplier_admin:
        return [Role.supplier_admin, Role.supplier_member]
    return [role]


def new_token() -> str:
    """A fresh opaque API token: ``mkr_`` + 32 random bytes, base64url without padding."""
    raw = secrets.token_bytes(TOKEN_RANDOM_BYTES)
    return TOKEN_PREFIX + base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def looks_like_token(value: str) -> bool:
    """True when ``value`` has the exact shape of a registry token."""
    return _TOKEN_SHAPE.fullmatch(value) is not None


def token_hash(token: str) -> str:
    """The SHA-256 (hex) under which a token is stored and looked up."""
    return hashlib.sha256(token.encode("ascii")).hexdigest()


def token_display_prefix(token: str) -> str:
    """The part of a token that listings may show: ``mkr_`` and 8 characters."""
    return token[: len(TOKEN_PREFIX) + TOKEN_DISPLAY_CHARS]


class Principal:
    """The authenticated caller of one request."""

    __slots__ = ("organisation_id", "role", "token_id", "user_id")

    def __init__(self, *, user_id: str, role: Role, organisation_id: str | None, token_id: str):
        self.user_id = user_id
        self.role = role
        self.organisation_id = organisation_id
        self.token_id = token_id

    def has_role(self, *roles: Role) -> bool:
        """True when any of ``roles`` is among this caller's effective roles."""
        return any(role in roles for role in effective_roles(self.role))
