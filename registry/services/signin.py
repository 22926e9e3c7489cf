"""Signing people in and out of the pages, with failed attempts counted in Redis.

Rules enforced here:
- the answer to a failed sign-in is the same whether or not the email belongs to anyone, and
  takes as long: an unknown email is checked against a dummy argon2 hash;
- a person with no password yet (invited, link not used) or deactivated cannot sign in, with
  the same answer;
- at most 5 failed attempts per account and 20 per client address in 15 minutes; past either,
  every attempt (the right password too) is refused with "Too many attempts; try again in N
  minutes", whether or not the account exists; a successful sign-in clears the account's count;
- the counts live in Redis (REGISTRY_REDIS_URL), so every app process shares them; when Redis
  cannot be reached nobody signs in (the throttle never silently stops);
- every sign-in, failed sign-in and sign-out is an audit event; the password never is.
"""

from __future__ import annotations

import hashlib
import math
import uuid
from dataclasses import dataclass

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from registry.domain.audit_chain import AuditTag
from registry.errors import TooManyAttempts, Unauthenticated, Unavailable
from registry.records import Record, fetch_one
from registry.services import audit, passwords, sessions
from registry.services.audit import Actor
from registry.settings import get_settings
from registry.tables import User

ACCOUNT_LIMIT = 5
ADDRESS_LIMIT = 20
WINDOW_SECONDS = 15 * 60
FAILED = "The email address or password is not right."


def key_prefix() -> str:
    """The prefix of this registry's Redis keys (REGISTRY_REDIS_KEY_PREFIX)."""
    return get_settings().redis_key_prefix


def _account_key(email: str) -> str:
    digest = hashlib.sha256(email.strip().lower().encode("utf-8")).hexdigest()
    return f"{key_prefix()}signin:account:{digest}"


def _address_key(address: str) -> str:
    return f"{key_prefix()}signin:address:{address}"


def _minutes(seconds: int) -> int:
    return max(1, math.ceil(seconds / 60))


class _Account(Record, frozen=True):
    id: uuid.UUID
    active: bool
    password_hash: str | None


@dataclass(frozen=True, slots=True)
class SignedIn:
    """A new session: its id (for the cookie) and whose it is."""

    session_id: str
    user_id: str


class _Counts:
    """The two counters of one attempt, on one Redis connection."""

    def __init__(self, client: aioredis.Redis, email: str, address: str) -> None:
        self.client = client
        self.account = _account_key(email)
        self.address = _address_key(address)

    async def refusal(self) -> TooManyAttempts | None:
        values = await self.client.mget([self.account, self.address])
        account, address = (int(v) if v is not None else 0 for v in values)
        over = [
            key
            for key, count, limit in (
                (self.account, account, ACCOUNT_LIMIT),
                (self.address, address, ADDRESS_LIMIT),
            )
            if count >= limit
        ]
        if not over:
            return None
        wait = max([int(await self.client.ttl(key)) for key in over] + [1])
        minutes = _minutes(wait)
        return TooManyAttempts(
            f"Too many attempts; try again in {minutes} minute{'s' if minutes != 1 else ''}.",
            retry_after=wait,
        )

    async def failed(self) -> None:
        async with self.client.pipeline(transaction=True) as pipe:
            for key in (self.account, self.address):
                # The window starts at the first failure and does not move with later ones.
                pipe.set(key, 0, ex=WINDOW_SECONDS, nx=True)
                pipe.incr(key)
            await pipe.execute()

    async def succeeded(self) -> None:
        await self.client.delete(self.account)


async def sign_in(email: str, password: str, address: str, previous: str | None) -> SignedIn:
    """Check an email and password and start a new session (``previous`` is ended: the id is
    rotated). ``Unauthenticated`` (always ``FAILED``) or ``TooManyAttempts`` otherwise."""
    email = email.strip().lower()
    client = aioredis.from_url(get_settings().redis_url)
    try:
        counts = _Counts(client, email, address)
        if (refused := await counts.refusal()) is not None:
            await _failed(None, email, address, "throttled")
            raise refused
        account = await fetch_one(
            User.select(User.id, User.active, User.password_hash).where(User.email == email),
            _Account,
        )
        matched = await passwords.verify_password(
            password, account.password_hash if account else None
        )
        if account is None or not matched or not account.active:
            await counts.failed()
            reason = "unknown" if account is None else ("wrong" if not matched else "inactive")
            await _failed(account, email, address, reason)
            raise Unauthenticated(FAILED)
        await counts.succeeded()
    except RedisError as e:
        raise Unavailable("signing in is not possible just now; try again shortly") from e
    finally:
        await client.aclose()
    user_id = str(account.id)
    session_id = await sessions.start(user_id, previous)
    await audit.record(
        Actor(user_id),
        AuditTag.session_signed_in,
        f"user:{user_id}",
        {"session": sessions.handle_of(session_id), "address": address},
    )
    return SignedIn(session_id, user_id)


async def _failed(account: _Account | None, email: str, address: str, reason: str) -> None:
    # An unknown email is recorded by its digest: it may be a password typed in the wrong box.
    subject = (
        f"user:{account.id}"
        if account is not None
        else "email:" + hashlib.sha256(email.encode("utf-8")).hexdigest()[:16]
    )
    await audit.record(
        audit.Actor("anonymous"),
        AuditTag.session_sign_in_failed,
        subject,
        {"reason": reason, "address": address},
    )


async def sign_out(user_id: str, session_id: str) -> None:
    """End a session and record it."""
    await sessions.end(session_id)
    await audit.record(
        Actor(user_id),
        AuditTag.session_signed_out,
        f"user:{user_id}",
        {"session": sessions.handle_of(session_id)},
    )
