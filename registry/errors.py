"""Domain errors: what went wrong, in the registry's terms, with no HTTP in them.

The API maps each class to one status code in ``registry.api.problems``; messages say
what was expected and what was found, and never carry secrets, SQL or stack traces.
"""

from __future__ import annotations

from typing import Any


class RegistryError(Exception):
    """Base of every error the registry raises on purpose."""

    def __init__(
        self, detail: str, *, field: str | None = None, extra: dict[str, Any] | None = None
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.field = field
        self.extra = extra


class Unauthenticated(RegistryError):
    """No usable credential: missing, malformed, unknown, expired or revoked token."""


class Forbidden(RegistryError):
    """The caller is known but their role does not allow this operation."""


class NotFound(RegistryError):
    """No such object, or one the caller may not know exists."""


class Conflict(RegistryError):
    """The request contradicts the current state (a duplicate, a finished lifecycle)."""


class InvalidInput(RegistryError):
    """Well-formed input that breaks a domain rule; ``field`` names the offending part."""


class CannotCertify(InvalidInput):
    """An approved revision cannot become a certificate, for a reason only its supplier can fix.

    The detail is written for the supplier: it says what to do ("upload a current …").
    """


class PreconditionFailed(RegistryError):
    """An ``If-Match`` precondition named a stale version."""


class PreconditionRequired(RegistryError):
    """A conditional header is required for this change and was missing."""


class PayloadTooLarge(RegistryError):
    """An upload exceeds a configured size limit."""


class UnsupportedMediaType(RegistryError):
    """An upload's bytes are not one of the accepted types."""


class Unavailable(RegistryError):
    """The registry cannot serve this now (say, no signing keys yet): an operator's problem."""


class TooManyAttempts(RegistryError):
    """Too many failed attempts (say, to sign in): refused until ``retry_after`` seconds pass."""

    def __init__(self, detail: str, *, retry_after: int) -> None:
        super().__init__(detail)
        self.retry_after = retry_after
