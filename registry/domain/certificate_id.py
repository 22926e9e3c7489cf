"""Certificate IDs: short, typeable over the phone, and self-checking (DESIGN §4).

Rules enforced here:
- an ID is ``MKR-`` + 8 random characters (40 bits from ``secrets``) + 1 check character, all
  from the Crockford base32 alphabet ``0123456789ABCDEFGHJKMNPQRSTVWXYZ``, displayed
  ``MKR-XXXX-XXXX-C``;
- the check character is computed by the Luhn mod N algorithm with N = 32 over that alphabet, so
  every single-character substitution is detected before any lookup;
- input is normalised the Crockford way: case-insensitive, ``I``/``L`` read as ``1``, ``O`` as
  ``0``, hyphens and whitespace anywhere are ignored, and the ``MKR`` prefix may be left out
  (but if it is there it must be ``MKR``);
- anything else (wrong length, a character outside the alphabet such as ``U``, non-ASCII text)
  is a malformed ID, reported differently from a wrong check character ("probably mistyped").
"""

from __future__ import annotations

import secrets

from registry.errors import InvalidInput

# Crockford base32: digits and letters without I, L, O (look like 1, 1, 0) and U (accidental
# obscenity). https://www.crockford.com/base32.html
ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
PREFIX = "MKR"
PAYLOAD_LENGTH = 8
EXAMPLE = "MKR-7Q4K-9X2M-G"

_N = len(ALPHABET)
_CODE_POINT = {character: value for value, character in enumerate(ALPHABET)}
# Crockford decoding: the letters left out of the alphabet are read as the digits they look like.
_CROCKFORD_ALIASES = str.maketrans({"I": "1", "L": "1", "O": "0"})
_IGNORED = str.maketrans("", "", "- \t\r\n")
# Long enough for any reasonable spacing of a real ID; longer input is not echoed back.
_MAX_INPUT_LENGTH = 40


class MistypedCertificateId(InvalidInput):
    """A certificate ID that is malformed or whose check character does not match.

    ``wrong_check_character`` is True when the shape was right but the check failed, which
    almost always means one character was mistyped.
    """

    def __init__(self, detail: str, *, wrong_check_character: bool = False) -> None:
        super().__init__(detail, field="certificate_id")
        self.wrong_check_character = wrong_check_character


def new_certificate_id() -> str:
    """A fresh random certificate ID in display form ``MKR-XXXX-XXXX-C``."""
    bits = secrets.randbits(5 * PAYLOAD_LENGTH)
    payload = "".join(
        ALPHABET[(bits >> (5 * shift)) & 0b11111] for shift in reversed(range(PAYLOAD_LENGTH))
    )
    return _display(payload + check_character(payload))


def check_character(payload8: str) -> str:
    """The Luhn mod 32 check character for an 8-character canonical (upper-case) payload."""
    if len(payload8) != PAYLOAD_LENGTH or any(c not in _CODE_POINT for c in payload8):
        raise MistypedCertificateId(
            f"expected {PAYLOAD_LENGTH} upper-case Crockford base32 characters, "
            f"found {_shown(payload8)}"
        )
    # Luhn mod N generation: from the rightmost character leftwards, double every other code
    # point starting with the rightmost, fold each product back into base N, and pick the
    # character that makes the total a multiple of N.
    total = _luhn_sum(payload8, double_rightmost=True)
    return ALPHABET[(_N - total % _N) % _N]


def normalise_certificate_id(text: str) -> str:
    """Read a typed, pasted or scanned ID; return it as ``MKR-XXXX-XXXX-C`` or raise.

    Raises MistypedCertificateId: malformed, or (``wrong_check_character``) a failed check.
    """
    if len(text) > _MAX_INPUT_LENGTH:
        raise MistypedCertificateId(
            f"expected a certificate ID like {EXAMPLE}, found {len(text)} characters of text"
        )
    if not text.isascii():
        # Checked before upper-casing: str.upper() turns some non-ASCII letters into ASCII ones.
        raise MistypedCertificateId(
            f"expected a certificate ID like {EXAMPLE} in plain letters and digits, "
            f"found non-ASCII characters in {text!r}"
        )
    compact = text.translate(_IGNORED).upper()
    body = compact
    if len(compact) == len(PREFIX) + PAYLOAD_LENGTH + 1:
        if not compact.startswith(PREFIX):
            raise MistypedCertificateId(
                f"expected the prefix {PREFIX}, found {compact[: len(PREFIX)]!r} in {text!r}"
            )
        body = compact[len(PREFIX) :]
    elif len(compact) != PAYLOAD_LENGTH + 1 and compact.startswith(PREFIX):
        body = compact[len(PREFIX) :]
    if len(body) != PAYLOAD_LENGTH + 1:
        raise MistypedCertificateId(
            f"expected {PAYLOAD_LENGTH + 1} characters after {PREFIX}- "
            f"({PAYLOAD_LENGTH} plus a check character, as in {EXAMPLE}), "
            f"found {len(body)} in {text!r}"
        )
    body = body.translate(_CROCKFORD_ALIASES)
    outside = sorted({c for c in body if c not in _CODE_POINT})
    if outside:
        found = ", ".join(repr(c) for c in outside)
        raise MistypedCertificateId(
            "expected only Crockford base32 characters (digits and letters except I, L, O, U), "
            f"found {found} in {text!r}"
        )
    # Luhn mod N validation: with the check character as the rightmost, the sum is 0 mod N.
    if _luhn_sum(body, double_rightmost=False) % _N != 0:
        raise MistypedCertificateId(
            f"the certificate ID {_display(body)} was probably mistyped: its last character "
            f"{body[-1]!r} does not match the other {PAYLOAD_LENGTH}; check each character "
            "against the certificate and try again",
            wrong_check_character=True,
        )
    return _display(body)


def _luhn_sum(characters: str, *, double_rightmost: bool) -> int:
    """Luhn mod N sum over code points, doubling alternate positions from the right."""
    total = 0
    double = double_rightmost
    for character in reversed(characters):
        addend = _CODE_POINT[character] * (2 if double else 1)
        # Sum of the "digits" of the addend written in base N (it is below 2N, so two digits).
        total += addend // _N + addend % _N
        double = not double
    return total


def _display(body: str) -> str:
    return f"{PREFIX}-{body[0:4]}-{body[4:8]}-{body[8]}"


def _shown(text: str) -> str:
    return repr(text) if len(text) <= _MAX_INPUT_LENGTH else f"{len(text)} characters"
