"""Errors of the signing layer, in the registry's error hierarchy (``registry.errors``).

Messages say what was expected and what was found; they never carry key material.
"""

from __future__ import annotations

from registry.errors import Conflict, InvalidInput, Unavailable


class SignatureInvalid(InvalidInput):
    """A statement, trust document or signature that does not verify under the trust given."""


class SigningRefused(Conflict):
    """The key asked to sign may not sign now: retired, revoked, or outside its signing window."""


class KeyMaterialError(Unavailable):
    """Key files are missing, unreadable or inconsistent: an operator's problem, not a caller's."""
