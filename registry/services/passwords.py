"""Hashing and checking people's passwords: argon2id (RFC 9106), off the event loop.

The rules a new password must meet are ``registry.domain.passwords``; the list of common
passwords it is checked against ships in ``registry/data/common-passwords.txt``.
"""

from __future__ import annotations

import asyncio
import functools
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from registry.domain.passwords import password_problem
from registry.errors import InvalidInput

COMMON_PASSWORDS = Path(__file__).resolve().parent.parent / "data" / "common-passwords.txt"

# argon2-cffi's defaults are RFC 9106's second recommended option: argon2id, t=3, m=64 MiB, p=4.
_HASHER = PasswordHasher()


@functools.cache
def common_passwords() -> frozenset[str]:
    """The shipped list of common passwords, lower-cased."""
    lines = COMMON_PASSWORDS.read_text(encoding="utf-8").splitlines()
    return frozenset(
        line.strip().lower() for line in lines if line.strip() and not line.startswith("#")
    )


def check_new_password(password: str, email: str) -> None:
    """Refuse a password that breaks a rule, saying which (``InvalidInput`` on ``password``)."""
    problem = password_problem(password, email, common_passwords())
    if problem is not None:
        raise InvalidInput(problem, field="password")


async def hash_password(password: str) -> str:
    """The argon2id hash (PHC string) to store for ``password``."""
    return await asyncio.to_thread(_HASHER.hash, password)


@functools.cache
def _dummy_hash() -> str:
    return _HASHER.hash("not anybody's password: compared against when the email is unknown")


async def verify_password(password: str, stored: str | None) -> bool:
    """True when ``password`` matches ``stored``; with no stored hash (an unknown person, or one
    who has not set a password yet) a dummy hash is checked, so the answer takes as long."""
    against = stored or _dummy_hash()

    def check() -> bool:
        try:
            return _HASHER.verify(against, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    matched = await asyncio.to_thread(check)
    return matched and stored is not None
