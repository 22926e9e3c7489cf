"""A signing key's lifecycle states (DESIGN §4): it signs while active; retired, what it signed
still verifies; revoked from a point in time, what it signed after that point fails."""

from __future__ import annotations

from enum import StrEnum


class SigningKeyStatus(StrEnum):
    """Where one signing key stands."""

    active = "active"
    retired = "retired"
    revoked = "revoked"
