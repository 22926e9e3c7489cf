"""Server-side sessions of people signed in to the pages, kept in the registry's own database.

Rules enforced here:
- a session id is 32 random bytes; the database keeps only its SHA-256 (``web_session.key``);
- a session ends after ``REGISTRY_SESSION_IDLE`` seconds without a request (its expiry moves on
  with every request) and ``REGISTRY_SESSION_MAX`` seconds after sign-in, whatever happens;
- every request re-reads the user: a deactivated person's session is refused (and deleted), and
  deactivating a person deletes all their sessions (``end_sessions_of``);
- sign-in always starts a new session id (the old one, if any, is deleted): no fixation;
- a session that ran out is refused but its row is kept until the sweep, ``ENDED_KEPT_SECONDS``
  after it expired, so a request made with it can still tell whose it was (``check``): what a
  form posted then is kept for that person only (``stash``, ``take_stash``).

``DatabaseStore`` is a Litestar ``Store`` over the ``web_session`` table. Litestar's own session
middleware is not used on top of it, for three reasons: it writes a session row for every
response, anonymous visitors of the public pages included; it keeps the id from the request's
cookie, so the id cannot be rotated at sign-in; and it knows one lifetime, not idle plus
absolute. The minimum around the store is here and in ``registry.web.auth``.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import timedelta

import msgspec
from litestar.stores.base import Store

from registry import clock
from registry.db import write_transaction
from registry.domain.identity import Principal, Role
from registry.records import Record, fetch_one
from registry.settings import get_settings
from registry.tables import User, WebSession

SESSION_ID_BYTES = 32
ENDED_KEPT_SECONDS = 12 * 3600
"""How long the row of a session that ran out is kept, refused, to know whose it was."""
STASH_SECONDS = 30 * 60
STASH_MAX_BYTES = 64 * 1024
_STASH_PREFIX = "resume:"


def _key(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def _seconds(value: int | timedelta | None) -> int | None:
    if value is None:
        return None
    return int(value.total_seconds()) if isinstance(value, timedelta) else int(value)


class _Row(Record, frozen=True):
    value: bytes
    expires_at: int | None


class _UserOf(msgspec.Struct, frozen=True):
    user_id: str | None = None


class DatabaseStore(Store):
    """A Litestar store over the ``web_session`` table; times come from ``registry.clock``.

    A value that is a JSON object with a ``user_id`` also fills the row's ``user`` column, so
    ``delete_for_user`` can end one person's sessions.
    """

    async def set(
        self, key: str, value: str | bytes, expires_in: int | timedelta | None = None
    ) -> None:
        """Store ``value`` under ``key``, for ``expires_in`` seconds (for ever when None)."""
        data = value.encode("utf-8") if isinstance(value, str) else value
        seconds = _seconds(expires_in)
        expires_at = clock.now() + seconds if seconds is not None else None
        try:
            user_id = msgspec.json.decode(data, type=_UserOf).user_id
        except msgspec.DecodeError:
            user_id = None
        user = uuid.UUID(user_id) if user_id else None
        async with write_transaction():
            hashed = _key(key)
            if await WebSession.exists().where(WebSession.key == hashed):
                await WebSession.update(
                    {
                        WebSession.value: data,
                        WebSession.expires_at: expires_at,
                        WebSession.user: user,
                    }
                ).where(WebSession.key == hashed)
            else:
                await WebSession.insert(
                    WebSession(key=hashed, value=data, expires_at=expires_at, user=user)
                )

    async def entry(self, key: str) -> _Row | None:
        """The row under ``key`` as it is, expired or not; nothing changes."""
        return await fetch_one(
            WebSession.select(WebSession.value, WebSession.expires_at).where(
                WebSession.key == _key(key)
            ),
            _Row,
        )

    async def renew(self, key: str, renew_for: int | timedelta) -> None:
        """Move the expiry of ``key`` (when it has one) to ``renew_for`` from now."""
        async with write_transaction():
            await WebSession.update(
                {WebSession.expires_at: clock.now() + (_seconds(renew_for) or 0)}
            ).where((WebSession.key == _key(key)) & WebSession.expires_at.is_not_null())

    async def get(self, key: str, renew_for: int | timedelta | None = None) -> bytes | None:
        """The value under ``key`` unless expired; ``renew_for`` moves its expiry to then."""
        row = await self.entry(key)
        if row is None:
            return None
        if row.expires_at is not None and row.expires_at <= clock.now():
            await self.delete(key)
            return None
        if renew_for is not None:
            await self.renew(key, renew_for)
        return row.value

    async def delete(self, key: str) -> None:
        """Forget ``key``; nothing happens when it is unknown."""
        async with write_transaction():
            await WebSession.delete().where(WebSession.key == _key(key))

    async def delete_all(self) -> None:
        """Forget every session."""
        async with write_transaction():
            await WebSession.delete(force=True)

    async def exists(self, key: str) -> bool:
        """True when ``key`` holds a value that has not expired."""
        now = clock.now()
        return bool(
            await WebSession.exists().where(
                (WebSession.key == _key(key))
                & (WebSession.expires_at.is_null() | (WebSession.expires_at > now))
            )
        )

    async def expires_in(self, key: str) -> int | None:
        """Seconds until ``key`` expires; None when it never does, is unknown or has expired."""
        row = await fetch_one(
            WebSession.select(WebSession.value, WebSession.expires_at).where(
                WebSession.key == _key(key)
            ),
            _Row,
        )
        if row is None or row.expires_at is None:
            return None
        left = row.expires_at - clock.now()
        return left if left > 0 else None

    async def delete_for_user(self, user_id: uuid.UUID) -> int:
        """End every session of one person (inside the caller's transaction); how many of them
        were live (the rest had run out and were kept only to know whose they were)."""
        now = clock.now()
        async with write_transaction():
            count = int(
                await WebSession.count().where(
                    (WebSession.user == user_id)
                    & (WebSession.expires_at.is_null() | (WebSession.expires_at > now))
                )
            )
            await WebSession.delete().where(WebSession.user == user_id)
        return count

    async def delete_expired(self) -> None:
        """Sweep what expired more than ``ENDED_KEPT_SECONDS`` ago (reads already refuse it)."""
        async with write_transaction():
            await WebSession.delete().where(
                WebSession.expires_at <= clock.now() - ENDED_KEPT_SECONDS
            )


STORE = DatabaseStore()


class SessionData(msgspec.Struct, frozen=True):
    """What a session holds: who signed in, and when (for the absolute limit)."""

    user_id: str
    signed_in_at: int


@dataclass(frozen=True, slots=True)
class Session:
    """A live session: its holder as a principal, and the session's audit handle."""

    principal: Principal
    handle: str


def handle_of(session_id: str) -> str:
    """A name for a session that is safe to show and log: ``session:`` + 16 hex digits."""
    return "session:" + _key(session_id)[:16]


async def start(user_id: str, previous: str | None) -> str:
    """A new session for ``user_id`` (its id returned); ``previous``, when given, is ended."""
    if previous:
        await STORE.delete(previous)
    session_id = secrets.token_urlsafe(SESSION_ID_BYTES)
    data = SessionData(user_id=user_id, signed_in_at=clock.now())
    await STORE.set(
        session_id, msgspec.json.encode(data), expires_in=get_settings().session_idle_seconds
    )
    return session_id


class _Holder(Record, frozen=True):
    id: uuid.UUID
    role: Role
    active: bool
    organisation: uuid.UUID | None


@dataclass(frozen=True, slots=True)
class Ended:
    """A session id that does not work (any more); whose it was when that is still known: a
    session idle too long or past its absolute limit, not one unknown, swept or deactivated."""

    user_id: str | None


async def check(session_id: str) -> Session | Ended:
    """The live session behind a session id (its idle expiry moved on), or ``Ended``."""
    settings = get_settings()
    row = await STORE.entry(session_id)
    if row is None:
        return Ended(None)
    try:
        data = msgspec.json.decode(row.value, type=SessionData)
        user_key = uuid.UUID(data.user_id)
    except (msgspec.DecodeError, ValueError):
        await STORE.delete(session_id)
        return Ended(None)
    now = clock.now()
    if (row.expires_at is not None and row.expires_at <= now) or (
        now - data.signed_in_at >= settings.session_max_seconds
    ):
        return Ended(data.user_id)  # refused; the sweep deletes it later
    user = await fetch_one(
        User.select(User.id, User.role, User.active, User.organisation).where(User.id == user_key),
        _Holder,
    )
    if user is None or not user.active:
        await STORE.delete(session_id)
        return Ended(None)
    await STORE.renew(session_id, settings.session_idle_seconds)
    handle = handle_of(session_id)
    return Session(
        principal=Principal(
            user_id=str(user.id),
            role=user.role,
            organisation_id=str(user.organisation) if user.organisation else None,
            token_id=handle,
        ),
        handle=handle,
    )


async def resume(session_id: str) -> Session | None:
    """The person behind a session id, or None when the session is unknown, idle too long,
    older than the absolute limit, or its person was deactivated (such a session is ended)."""
    found = await check(session_id)
    return found if isinstance(found, Session) else None


class Stash(msgspec.Struct, frozen=True):
    """What a form posted when its session had ended: for whom, to where, and the fields.
    Its ``owner`` is not named ``user_id``, so the row's ``user`` column stays empty: a stash
    is not a session for ``delete_for_user`` to count (and a deactivated owner cannot sign in
    to take it)."""

    owner: str
    path: str
    fields: list[tuple[str, str]]


async def stash(user_id: str, path: str, fields: list[tuple[str, str]]) -> str | None:
    """Keep ``fields`` posted to ``path`` for ``user_id``, ``STASH_SECONDS``; the key, or None
    when they are over ``STASH_MAX_BYTES``."""
    data = msgspec.json.encode(Stash(owner=user_id, path=path, fields=fields))
    if len(data) > STASH_MAX_BYTES:
        return None
    key = secrets.token_urlsafe(SESSION_ID_BYTES)
    await STORE.set(_STASH_PREFIX + key, data, expires_in=STASH_SECONDS)
    return key


async def take_stash(key: str, user_id: str) -> Stash | None:
    """The stash under ``key`` when it is ``user_id``'s and not expired, deleted as it is
    returned (once only); None otherwise, and then another person's stash is left alone."""
    raw = await STORE.get(_STASH_PREFIX + key)
    if raw is None:
        return None
    try:
        found = msgspec.json.decode(raw, type=Stash)
    except msgspec.DecodeError:
        return None
    if found.owner != user_id:
        return None
    async with write_transaction():
        taken = (
            await WebSession.delete()
            .where(WebSession.key == _key(_STASH_PREFIX + key))
            .returning(WebSession.key)
        )
    return found if taken else None


async def end(session_id: str) -> None:
    """End one session (sign-out)."""
    await STORE.delete(session_id)


async def end_sessions_of(user_id: uuid.UUID) -> int:
    """End every session of one person, in the caller's transaction; how many ended."""
    return await STORE.delete_for_user(user_id)
