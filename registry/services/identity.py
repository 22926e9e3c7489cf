"""Organisations, users and API tokens: creation, scoping and authentication."""

from __future__ import annotations

import uuid

import msgspec

from registry import clock
from registry.db import write_transaction
from registry.domain.audit_chain import AuditTag
from registry.domain.dates import as_datetime
from registry.domain.identity import (
    OrganisationKind,
    Principal,
    Role,
    check_membership,
    effective_roles,
    looks_like_token,
    new_token,
    token_display_prefix,
    token_hash,
)
from registry.domain.names import check_name
from registry.errors import Conflict, InvalidInput, NotFound, Unauthenticated
from registry.records import (
    ApiTokenRecord,
    OrganisationRecord,
    Record,
    UserRecord,
    fetch,
    fetch_one,
)
from registry.services import audit, sessions
from registry.services.audit import Actor
from registry.services.paging import decode_time_id_cursor, encode_time_id_cursor
from registry.settings import get_settings
from registry.tables import ApiToken, Organisation, User
from schemas.identity import (
    Me,
    OrganisationCreate,
    OrganisationOut,
    OrganisationPage,
    TokenCreate,
    TokenCreated,
    TokenList,
    TokenOut,
    UserCreate,
    UserOut,
)

DAY = 86_400


def _parse_id(value: str, what: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError as e:
        raise NotFound(f"no {what} {value!r}") from e


def _organisation_out(row: OrganisationRecord) -> OrganisationOut:
    return OrganisationOut(
        id=str(row.id),
        name=row.name,
        kind=row.kind,
        created_at=as_datetime(row.created_at),
    )


def _user_out(row: UserRecord) -> UserOut:
    return UserOut(
        id=str(row.id),
        email=row.email,
        name=row.name,
        role=row.role,
        organisation_id=str(row.organisation) if row.organisation else None,
        active=row.active,
        created_at=as_datetime(row.created_at),
    )


def _token_out(row: ApiTokenRecord) -> TokenOut:
    return TokenOut(
        id=str(row.id),
        user_id=str(row.user),
        label=row.label,
        prefix=row.display_prefix,
        created_at=as_datetime(row.created_at),
        expires_at=as_datetime(row.expires_at),
        revoked_at=as_datetime(row.revoked_at),
        last_used_at=as_datetime(row.last_used_at),
    )


async def create_organisation(actor: Actor, request: OrganisationCreate) -> OrganisationOut:
    """Register an organisation; names are unique."""
    check_name(request.name, "name")
    async with write_transaction():
        if await Organisation.exists().where(Organisation.name == request.name):
            raise Conflict(f"an organisation named {request.name!r} already exists", field="name")
        row = OrganisationRecord(
            id=uuid.uuid4(), name=request.name, kind=request.kind, created_at=clock.now()
        )
        await Organisation.insert(
            Organisation(id=row.id, name=row.name, kind=row.kind.value, created_at=row.created_at)
        )
        await audit.record(
            actor,
            AuditTag.organisation_created,
            f"organisation:{row.id}",
            {"name": request.name, "kind": request.kind.value},
        )
    return _organisation_out(row)


async def get_organisation(principal: Principal, organisation_id: str) -> OrganisationOut:
    """An admin reads any organisation; anyone else only their own (foreign is 404)."""
    key = _parse_id(organisation_id, "organisation")
    if not principal.has_role(Role.admin) and principal.organisation_id != str(key):
        raise NotFound(f"no organisation {organisation_id!r}")
    row = await fetch_one(Organisation.select().where(Organisation.id == key), OrganisationRecord)
    if row is None:
        raise NotFound(f"no organisation {organisation_id!r}")
    return _organisation_out(row)


async def list_organisations(cursor: str | None, limit: int) -> OrganisationPage:
    """Organisations oldest first, one page at a time."""
    query = Organisation.select().order_by(Organisation.created_at).order_by(Organisation.id)
    if cursor:
        t, key = decode_time_id_cursor(cursor)
        query = query.where(
            (Organisation.created_at > t)
            | ((Organisation.created_at == t) & (Organisation.id > key))
        )
    rows = await fetch(query.limit(limit + 1), OrganisationRecord)
    items = [_organisation_out(row) for row in rows[:limit]]
    next_cursor = (
        encode_time_id_cursor(rows[limit - 1].created_at, items[-1].id)
        if len(rows) > limit
        else None
    )
    return OrganisationPage(items=items, next_cursor=next_cursor)


class _OrganisationKind(Record, frozen=True):
    kind: OrganisationKind


async def _organisation_kind(organisation_id: str) -> OrganisationKind:
    try:
        key = uuid.UUID(organisation_id)
    except ValueError as e:
        raise InvalidInput("organisation_id is not an id", field="organisation_id") from e
    row = await fetch_one(
        Organisation.select(Organisation.kind).where(Organisation.id == key), _OrganisationKind
    )
    if row is None:
        raise InvalidInput(f"no organisation {organisation_id!r}", field="organisation_id")
    return row.kind


async def create_user(actor: Actor, request: UserCreate) -> UserOut:
    """Create a user whose organisation fits their role (suppliers' members in a supplier)."""
    check_name(request.name, "name")
    async with write_transaction():
        kind = None
        if request.organisation_id is not None:
            kind = await _organisation_kind(request.organisation_id)
        check_membership(request.role, kind)
        if await User.exists().where(User.email == request.email.lower()):
            raise Conflict(f"a user with email {request.email!r} already exists", field="email")
        row = UserRecord(
            id=uuid.uuid4(),
            email=request.email.lower(),
            name=request.name,
            role=request.role,
            organisation=uuid.UUID(request.organisation_id) if request.organisation_id else None,
            active=True,
            created_at=clock.now(),
        )
        await User.insert(
            User(
                id=row.id,
                email=row.email,
                name=row.name,
                role=row.role.value,
                organisation=row.organisation,
                active=row.active,
                created_at=row.created_at,
            )
        )
        await audit.record(
            actor,
            AuditTag.user_created,
            f"user:{row.id}",
            {"role": request.role.value, "organisation": request.organisation_id},
        )
    return _user_out(row)


async def _user_row(user_id: str, principal: Principal | None = None) -> UserRecord:
    """The user ``user_id``; with ``principal``, only one they manage (DESIGN §1): an admin any
    user, a supplier admin its own organisation's members; anyone else's is 404."""
    key = _parse_id(user_id, "user")
    row = await fetch_one(User.select().where(User.id == key), UserRecord)
    if row is None or (principal is not None and not _manages(principal, row)):
        raise NotFound(f"no user {user_id!r}")
    return row


def _manages(principal: Principal, user: UserRecord) -> bool:
    if principal.has_role(Role.admin):
        return True
    return (
        principal.has_role(Role.supplier_admin)
        and principal.organisation_id is not None
        and str(user.organisation) == principal.organisation_id
    )


async def get_user(user_id: uuid.UUID) -> UserOut:
    """One user as the API shows it."""
    return _user_out(await _user_row(str(user_id)))


async def _revoke_all_tokens(user: uuid.UUID) -> int:
    """Revoke every live token of ``user`` now; the number revoked."""
    live = (ApiToken.user == user) & ApiToken.revoked_at.is_null()
    count = await ApiToken.count().where(live)
    await ApiToken.update({ApiToken.revoked_at: clock.now()}).where(live)
    return int(count)


async def set_user_active(
    actor: Actor, user_id: str, active: bool, principal: Principal | None = None
) -> UserOut:
    """Deactivate a user, revoking their tokens for good and ending their web sessions, or
    reactivate one (without them); ``principal`` limits it to users they manage."""
    async with write_transaction():
        row = await _user_row(user_id, principal)
        if row.active != active:
            await User.update({User.active: active}).where(User.id == row.id)
            details: dict[str, object] = {}
            if not active:  # for good: reactivation must not bring old credentials back
                details["tokens_revoked"] = await _revoke_all_tokens(row.id)
                details["sessions_ended"] = await sessions.end_sessions_of(row.id)
            tag = AuditTag.user_reactivated if active else AuditTag.user_deactivated
            await audit.record(actor, tag, f"user:{row.id}", details)
            row = msgspec.structs.replace(row, active=active)
    return _user_out(row)


async def create_token(
    actor: Actor, user_id: str, request: TokenCreate, principal: Principal | None = None
) -> TokenCreated:
    """Issue a token for an active user; the secret is returned once and only its hash kept.
    ``principal`` limits it to users they manage."""
    check_name(request.label, "label")
    days = request.expires_in_days or get_settings().token_default_days
    secret = new_token()
    async with write_transaction():
        user = await _user_row(user_id, principal)
        if not user.active:
            raise Conflict(f"user {user_id!r} is deactivated", field="user_id")
        now = clock.now()
        row = ApiTokenRecord(
            id=uuid.uuid4(),
            user=user.id,
            label=request.label,
            display_prefix=token_display_prefix(secret),
            token_hash=token_hash(secret),
            created_at=now,
            expires_at=now + days * DAY,
            revoked_at=None,
            last_used_at=None,
        )
        await ApiToken.insert(ApiToken(**msgspec.structs.asdict(row)))
        await audit.record(
            actor,
            AuditTag.token_created,
            f"token:{row.id}",
            {"user": str(user.id), "label": request.label, "expires_at": row.expires_at},
        )
    return TokenCreated(token=secret, details=_token_out(row))


async def list_tokens(user_id: str, principal: Principal | None = None) -> TokenList:
    """A user's tokens, newest first, without secrets; ``principal`` limits it to users they
    manage."""
    user = await _user_row(user_id, principal)
    rows = await fetch(
        ApiToken.select()
        .where(ApiToken.user == user.id)
        .order_by(ApiToken.created_at, ascending=False),
        ApiTokenRecord,
    )
    return TokenList(items=[_token_out(row) for row in rows])


async def revoke_token(
    actor: Actor, token_id: str, principal: Principal | None = None, *, own: bool = False
) -> TokenOut:
    """Revoke a token from now on; revoking twice keeps the first revocation time.
    ``principal`` limits it to tokens of users they manage, or with ``own`` to their own."""
    key = _parse_id(token_id, "token")
    async with write_transaction():
        row = await fetch_one(ApiToken.select().where(ApiToken.id == key), ApiTokenRecord)
        if row is None:
            raise NotFound(f"no token {token_id!r}")
        if principal is not None:
            if own and str(row.user) != principal.user_id:
                raise NotFound(f"no token {token_id!r}")
            if not own:
                try:
                    await _user_row(str(row.user), principal)
                except NotFound as e:
                    raise NotFound(f"no token {token_id!r}") from e
        if row.revoked_at is None:
            row = msgspec.structs.replace(row, revoked_at=clock.now())
            await ApiToken.update({ApiToken.revoked_at: row.revoked_at}).where(ApiToken.id == key)
            await audit.record(actor, AuditTag.token_revoked, f"token:{key}", {})
    return _token_out(row)


class _TokenHolder(Record, frozen=True):
    """A token joined to the user it speaks for: what authentication reads."""

    id: uuid.UUID
    expires_at: int | None
    revoked_at: int | None
    last_used_at: int | None
    user_id: uuid.UUID
    role: Role
    active: bool
    organisation_id: uuid.UUID | None


async def authenticate(authorization: str | None) -> Principal:
    """Turn an ``Authorization: Bearer mkr_…`` header into the caller, or refuse it."""
    if not authorization:
        raise Unauthenticated("this operation needs an API token: Authorization: Bearer mkr_…")
    scheme, _, credential = authorization.partition(" ")
    credential = credential.strip()
    if scheme.lower() != "bearer" or not looks_like_token(credential):
        raise Unauthenticated("the Authorization header must be 'Bearer mkr_…'")
    row = await fetch_one(
        ApiToken.select(
            ApiToken.id,
            ApiToken.expires_at,
            ApiToken.revoked_at,
            ApiToken.last_used_at,
            ApiToken.user.id.as_alias("user_id"),
            ApiToken.user.role.as_alias("role"),
            ApiToken.user.active.as_alias("active"),
            ApiToken.user.organisation.as_alias("organisation_id"),
        ).where(ApiToken.token_hash == token_hash(credential)),
        _TokenHolder,
    )
    now = clock.now()
    # One message for every kind of dead token: the caller learns nothing about which it was.
    if (
        row is None
        or row.revoked_at is not None
        or (row.expires_at is not None and row.expires_at <= now)
        or not row.active
    ):
        raise Unauthenticated("the API token is unknown, expired or revoked")
    await _touch(row.id, row.last_used_at, now)
    return Principal(
        user_id=str(row.user_id),
        role=row.role,
        organisation_id=str(row.organisation_id) if row.organisation_id else None,
        token_id=str(row.id),
    )


async def _touch(token_id: uuid.UUID, last_used_at: int | None, now: int) -> None:
    # Recording every use would make every read a write; minute resolution is what people need.
    if last_used_at is None or now - last_used_at >= get_settings().token_touch_interval_seconds:
        async with write_transaction():
            await ApiToken.update({ApiToken.last_used_at: now}).where(ApiToken.id == token_id)


async def me(principal: Principal) -> Me:
    """The caller's user record, effective roles and organisation."""
    user = await _user_row(principal.user_id)
    organisation = None
    if user.organisation:
        row = await fetch_one(
            Organisation.select().where(Organisation.id == user.organisation), OrganisationRecord
        )
        organisation = _organisation_out(row) if row else None
    return Me(
        user=_user_out(user),
        roles=effective_roles(principal.role),
        organisation=organisation,
        token_id=principal.token_id,
    )


async def bootstrap_admin(email: str, name: str) -> TokenCreated | None:
    """On first run, create the admin user and a token; None when an admin already exists."""
    async with write_transaction():
        if await User.exists().where(User.role == Role.admin.value):
            return None
        user = await create_user(audit.SYSTEM, UserCreate(email=email, name=name, role=Role.admin))
        await audit.record(audit.SYSTEM, AuditTag.admin_bootstrapped, f"user:{user.id}", {})
        return await create_token(audit.SYSTEM, user.id, TokenCreate(label="bootstrap"))


class _UserId(Record, frozen=True):
    id: uuid.UUID


async def create_token_for_email(email: str, request: TokenCreate) -> TokenCreated:
    """Operator path (CLI): issue a token for the user with ``email``."""
    row = await fetch_one(User.select(User.id).where(User.email == email.lower()), _UserId)
    if row is None:
        raise LookupError(f"no user with email {email!r}")
    return await create_token(audit.Actor("cli"), str(row.id), request)
