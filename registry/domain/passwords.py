"""The rules a person's password must meet (NCSC and NIST SP 800-63B §5.1.1.2 style):

- at least 12 characters, at most 1024 (argon2 hashes anything, but a megabyte is an attack);
- not one of the commonly used passwords the registry ships (compared lower-cased);
- not the person's own email address (compared lower-cased).

No rules on character classes: length and the list do more, and are easier to live with.
"""

from __future__ import annotations

from collections.abc import Collection

MIN_PASSWORD_CHARS = 12
MAX_PASSWORD_CHARS = 1024


def password_problem(password: str, email: str, common: Collection[str]) -> str | None:
    """Why ``password`` may not be used, in words for the person choosing it; None when fine."""
    if len(password) < MIN_PASSWORD_CHARS:
        return f"Your password must be at least {MIN_PASSWORD_CHARS} characters long."
    if len(password) > MAX_PASSWORD_CHARS:
        return f"Your password must be at most {MAX_PASSWORD_CHARS} characters long."
    lowered = password.lower()
    if lowered == email.lower():
        return "Your password must not be your email address."
    if lowered in common:
        return (
            "That password is one of the most commonly used passwords, so it is easy to guess. "
            "Choose another: three or four random words together work well."
        )
    return None
