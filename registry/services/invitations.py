"""Invitations: how a person gets a password (DESIGN §1).

Rules enforced here:
- an admin invites anyone into any organisation their role fits (``check_membership``); a
  supplier admin invites only supplier members and supplier admins, only into its own
  organisation (another organisation is 404, as if it did not exist; another role is 403);
- the invited user is made at once, active but without a password: they can hold API tokens,
  and cannot sign in until they set a password through the link; deactivating them works as
  for anyone (and makes their link useless);
- a user who exists and has no password yet can be invited again (same role and
  organisation): the new link replaces every earlier one; a user with a password cannot;
- the link's secret is 32 random bytes, kept only as its SHA-256; it works once, for 72 hours.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from enum import StrEnum

from registry import clock
from registry.db import write_transaction
from registry.domain.audit_chain import AuditTag
from registry.domain.dates import as_datetime
from registry.domain.identity import SUPPLIER_ADMIN_GRANTS, Principal, Role
from registry.domain.names import check_name
from registry.errors import Conflict, Forbidden, NotFound
from registry.records import Record, UserRecord, fetch_one
from registry.services import audit, identity, passwords
from registry.services.audit import Actor
from registry.settings import get_settings
from registry.tables import Invitation, User
from schemas.identity import InvitationCreate, InvitationCreated, UserCreate

INVITATION_SECONDS = 72 * 3600
_SECRET_BYTES = 32


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True)
class Invited:
    """A new invitation: the secret (for the link, shown once) and what the API answers."""

    token: str
    out: InvitationCreated


class _Credential(Record, frozen=True):
    id: uuid.UUID
    password_hash: str | None


def _check_scope(principal: Principal | None, request: InvitationCreate) -> None:
    if principal is None or principal.has_role(Role.admin):
        return
    if not principal.has_role(Role.supplier_admin):
        raise Forbidden("only admins and supplier admins invite people")
    if request.organisation_id != principal.organisation_id:
        raise NotFound(f"no organisation {request.organisation_id!r}", field="organisation_id")
    if request.role not in SUPPLIER_ADMIN_GRANTS:
        raise Forbidden(
            "a supplier admin invites supplier members and supplier admins only, got "
            f"{request.role.value}",
            field="role",
        )


async def invite(actor: Actor, principal: Principal | None, request: InvitationCreate) -> Invited:
    """Make (or find, when it has no password yet) the user and a one-time link for them;
    ``principal`` None is the system (the CLI, tests)."""
    check_name(request.name, "name")
    _check_scope(principal, request)
    token = secrets.token_urlsafe(_SECRET_BYTES)
    async with write_transaction():
        email = request.email.lower()
        existing = await fetch_one(User.select().where(User.email == email), UserRecord)
        if existing is None:
            user = await identity.create_user(
                actor,
                UserCreate(
                    email=email,
                    name=request.name,
                    role=request.role,
                    organisation_id=request.organisation_id,
                ),
            )
        else:
            credential = await fetch_one(
                User.select(User.id, User.password_hash).where(User.id == existing.id),
                _Credential,
            )
            same_place = (
                existing.role is request.role
                and (str(existing.organisation) if existing.organisation else None)
                == request.organisation_id
            )
            if not same_place or (credential and credential.password_hash):
                raise Conflict(f"a user with email {request.email!r} already exists", field="email")
            if not existing.active:
                raise Conflict(
                    f"the user with email {request.email!r} is deactivated", field="email"
                )
            user = await identity.get_user(existing.id)
            # A new link replaces every earlier one.
            await Invitation.update({Invitation.used_at: clock.now()}).where(
                (Invitation.user == existing.id) & Invitation.used_at.is_null()
            )
        now = clock.now()
        key = uuid.uuid4()
        expires_at = now + INVITATION_SECONDS
        await Invitation.insert(
            Invitation(
                id=key,
                user=uuid.UUID(user.id),
                token_hash=_hash(token),
                created_by=actor.id,
                created_at=now,
                expires_at=expires_at,
                used_at=None,
            )
        )
        await audit.record(
            actor,
            AuditTag.invitation_created,
            f"invitation:{key}",
            {"user": user.id, "role": user.role.value, "expires_at": expires_at},
        )
    link = f"{get_settings().base_url}/invitations/{token}"
    return Invited(
        token=token,
        out=InvitationCreated(
            id=str(key), link=link, expires_at=as_datetime(expires_at), user=user
        ),
    )


class InvitationState(StrEnum):
    """What a link is worth now."""

    usable = "usable"
    unknown = "unknown"
    used = "used"
    expired = "expired"


@dataclass(frozen=True, slots=True)
class InvitationView:
    """What the page shows about one link: its state and, while usable, whose it is."""

    state: InvitationState
    email: str = ""
    name: str = ""


class _Pending(Record, frozen=True):
    id: uuid.UUID
    expires_at: int
    used_at: int | None
    user_id: uuid.UUID
    email: str
    name: str
    active: bool


async def _pending(token: str) -> _Pending | None:
    return await fetch_one(
        Invitation.select(
            Invitation.id,
            Invitation.expires_at,
            Invitation.used_at,
            Invitation.user.id.as_alias("user_id"),
            Invitation.user.email.as_alias("email"),
            Invitation.user.name.as_alias("name"),
            Invitation.user.active.as_alias("active"),
        ).where(Invitation.token_hash == _hash(token)),
        _Pending,
    )


def _state(row: _Pending | None) -> InvitationState:
    if row is None:
        return InvitationState.unknown
    if row.used_at is not None or not row.active:
        return InvitationState.used
    if row.expires_at <= clock.now():
        return InvitationState.expired
    return InvitationState.usable


async def look_up(token: str) -> InvitationView:
    """What a link is worth now, and whose it is while it is usable."""
    row = await _pending(token)
    state = _state(row)
    if row is None or state is not InvitationState.usable:
        return InvitationView(state)
    return InvitationView(state, row.email, row.name)


class InvitationUnusable(NotFound):
    """The link is unknown, used or expired (``state`` says which)."""

    def __init__(self, state: InvitationState) -> None:
        super().__init__(f"this invitation link is {state.value}")
        self.state = state


async def accept(token: str, password: str) -> str:
    """Set the invited person's password (once); their user id. ``InvalidInput`` for a
    password that breaks a rule, ``InvitationUnusable`` for a link that no longer works."""
    row = await _pending(token)
    if row is None or _state(row) is not InvitationState.usable:
        raise InvitationUnusable(_state(row))
    passwords.check_new_password(password, row.email)
    hashed = await passwords.hash_password(password)
    async with write_transaction():
        # Checked again inside the transaction: two tabs posting at once set one password.
        again = await _pending(token)
        if again is None or _state(again) is not InvitationState.usable:
            raise InvitationUnusable(_state(again))
        now = clock.now()
        await Invitation.update({Invitation.used_at: now}).where(Invitation.id == row.id)
        await User.update({User.password_hash: hashed}).where(User.id == row.user_id)
        await audit.record(
            Actor(str(row.user_id)),
            AuditTag.invitation_accepted,
            f"invitation:{row.id}",
            {"user": str(row.user_id)},
        )
    return str(row.user_id)
