"""Certificate IDs (DESIGN §4): generation, the Luhn mod 32 check character, and normalisation."""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest

from registry.domain.certificate_id import (
    ALPHABET,
    EXAMPLE,
    MistypedCertificateId,
    check_character,
    new_certificate_id,
    normalise_certificate_id,
)
from registry.errors import InvalidInput

DISPLAY_FORM = re.compile(r"^MKR-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]$")


def luhn_mod_n_check(payload: str) -> str:
    """Luhn mod N generation as commonly published, transcribed independently of the module."""
    n = len(ALPHABET)
    factor = 2
    total = 0
    for character in reversed(payload):
        addend = factor * ALPHABET.index(character)
        factor = 1 if factor == 2 else 2
        total += addend // n + addend % n
    return ALPHABET[(n - total % n) % n]


def test_alphabet_is_crockford_base32() -> None:
    assert ALPHABET == "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
    assert len(set(ALPHABET)) == 32
    assert not set("ILOU") & set(ALPHABET)


def test_the_design_example_is_a_valid_id() -> None:
    assert EXAMPLE == "MKR-7Q4K-9X2M-G"
    assert check_character("7Q4K9X2M") == "G"
    assert normalise_certificate_id(EXAMPLE) == EXAMPLE
    assert DISPLAY_FORM.match(EXAMPLE)


def test_generated_ids_round_trip() -> None:
    seen = set()
    for _ in range(2000):
        certificate_id = new_certificate_id()
        assert DISPLAY_FORM.match(certificate_id), certificate_id
        payload = certificate_id[4:8] + certificate_id[9:13]
        assert check_character(payload) == certificate_id[-1]
        assert luhn_mod_n_check(payload) == certificate_id[-1]
        assert normalise_certificate_id(certificate_id) == certificate_id
        assert normalise_certificate_id(certificate_id.lower().replace("-", "")) == certificate_id
        assert normalise_certificate_id(certificate_id[4:]) == certificate_id
        seen.add(certificate_id)
    # 40 random bits: 2000 draws do not repeat, and every character of the alphabet turns up.
    assert len(seen) == 2000
    assert {c for certificate_id in seen for c in certificate_id[4:].replace("-", "")} == set(
        ALPHABET
    )


def test_check_character_agrees_with_an_independent_luhn_mod_n() -> None:
    for payload in ["00000000", "ZZZZZZZZ", "0000000Z", "10A1B0C1", "7Q4K9X2M", "ABCDEFGH"]:
        assert check_character(payload) == luhn_mod_n_check(payload)
    assert check_character("00000000") == "0"


SUBSTITUTION_SAMPLES = [
    EXAMPLE,
    "MKR-0000-0000-0",
    f"MKR-ZZZZ-ZZZZ-{check_character('ZZZZZZZZ')}",
    f"MKR-10A1-B0C1-{check_character('10A1B0C1')}",
    *(new_certificate_id() for _ in range(8)),
]


@pytest.mark.random_params
@pytest.mark.parametrize("certificate_id", SUBSTITUTION_SAMPLES)
def test_every_single_character_substitution_is_detected(certificate_id: str) -> None:
    compact = certificate_id.replace("-", "")[3:]
    assert len(compact) == 9
    substitutions = 0
    for position, original in enumerate(compact):
        for replacement in ALPHABET:
            if replacement == original:
                continue
            typo = compact[:position] + replacement + compact[position + 1 :]
            with pytest.raises(MistypedCertificateId) as caught:
                normalise_certificate_id(typo)
            assert caught.value.wrong_check_character, typo
            substitutions += 1
    assert substitutions == 9 * 31


@dataclass(frozen=True)
class Typed:
    """Something a practice might type or paste, and the ID it should be read as."""

    what: str
    typed: str
    expected: str


NORMALISATION = [
    Typed("display form", "MKR-7Q4K-9X2M-G", "MKR-7Q4K-9X2M-G"),
    Typed("lower case", "mkr-7q4k-9x2m-g", "MKR-7Q4K-9X2M-G"),
    Typed("mixed case", "Mkr-7q4K-9X2m-g", "MKR-7Q4K-9X2M-G"),
    Typed("no hyphens", "MKR7Q4K9X2MG", "MKR-7Q4K-9X2M-G"),
    Typed("no prefix", "7Q4K-9X2M-G", "MKR-7Q4K-9X2M-G"),
    Typed("no prefix, no hyphens, lower case", "7q4k9x2mg", "MKR-7Q4K-9X2M-G"),
    Typed("spaces instead of hyphens", "MKR 7Q4K 9X2M G", "MKR-7Q4K-9X2M-G"),
    Typed("read out in pairs", "mk r7 q4 k9 x2 mg", "MKR-7Q4K-9X2M-G"),
    Typed("surrounding whitespace", "  MKR-7Q4K-9X2M-G\r\n", "MKR-7Q4K-9X2M-G"),
    Typed("doubled hyphens", "MKR--7Q4K--9X2M--G", "MKR-7Q4K-9X2M-G"),
    Typed("canonical ones and zeros", "MKR-10A1-B0C1-T", "MKR-10A1-B0C1-T"),
    Typed("I read as 1", "MKR-I0A1-B0CI-T", "MKR-10A1-B0C1-T"),
    Typed("L read as 1", "MKR-10AL-B0Cl-T", "MKR-10A1-B0C1-T"),
    Typed("O read as 0", "MKR-1OA1-BoC1-T", "MKR-10A1-B0C1-T"),
    Typed("all look-alikes, lower case, no hyphens", "ioalbocit", "MKR-10A1-B0C1-T"),
]


@pytest.mark.parametrize("case", NORMALISATION, ids=lambda case: case.what)
def test_normalisation(case: Typed) -> None:
    assert normalise_certificate_id(case.typed) == case.expected


@dataclass(frozen=True)
class Malformed:
    """Input that is not an ID at all, and a word the explanation must contain."""

    what: str
    typed: str
    mentions: str


MALFORMED = [
    Malformed("empty", "", "found 0"),
    Malformed("only the prefix", "MKR-", "found 0"),
    Malformed("check character missing", "MKR-7Q4K-9X2M", "found 8"),
    Malformed("one character too many", "MKR-7Q4K-9X2M-GG", "found 10"),
    Malformed("payload too short without prefix", "7Q4K-9X2", "found 7"),
    Malformed("U is not in the alphabet", "MKR-7Q4U-9X2M-G", "'U'"),
    Malformed("punctuation", "MKR-7Q4K-9X2M-*", "'*'"),
    Malformed("underscores are not separators", "MKR_7Q4K_9X2M_G", "found 12"),
    Malformed("another prefix", "ABC-7Q4K-9X2M-G", "prefix MKR"),
    Malformed("a mistyped prefix", "MRK-7Q4K-9X2M-G", "prefix MKR"),
    Malformed("non-ASCII look-alike", "MKR-7Q4K-9X2M-\u0120", "non-ASCII"),
    Malformed("full-width digits", "MKR-\uff17Q4K-9X2M-G", "non-ASCII"),
    Malformed("dotless i would upper-case to I", "MKR-7Q4K-9X2M-\u0131", "non-ASCII"),
    Malformed("a paragraph", "MKR-7Q4K-9X2M-G " * 20, "characters of text"),
]


@pytest.mark.parametrize("case", MALFORMED, ids=lambda case: case.what)
def test_malformed_ids_are_rejected_as_malformed(case: Malformed) -> None:
    with pytest.raises(MistypedCertificateId) as caught:
        normalise_certificate_id(case.typed)
    error = caught.value
    assert isinstance(error, InvalidInput)
    assert error.field == "certificate_id"
    assert not error.wrong_check_character
    assert "expected" in error.detail
    assert case.mentions in error.detail
    assert "mistyped" not in error.detail


def test_a_wrong_check_character_says_probably_mistyped() -> None:
    with pytest.raises(MistypedCertificateId) as caught:
        normalise_certificate_id("mkr-7q4k-9x2m-h")
    error = caught.value
    assert error.wrong_check_character
    assert error.field == "certificate_id"
    assert "probably mistyped" in error.detail
    assert "MKR-7Q4K-9X2M-H" in error.detail
    # The right check character is not given away: the caller must re-read the certificate.
    assert "'G'" not in error.detail


def test_swapped_neighbours_in_the_design_example_are_caught() -> None:
    # Luhn mod N promises single substitutions; most (not all) adjacent swaps are caught too.
    caught = 0
    payload = "7Q4K9X2MG"
    for i in range(len(payload) - 1):
        swapped = payload[:i] + payload[i + 1] + payload[i] + payload[i + 2 :]
        try:
            normalise_certificate_id(swapped)
        except MistypedCertificateId:
            caught += 1
    assert caught == len(payload) - 1


@pytest.mark.parametrize("payload", ["7Q4K9X2", "7Q4K9X2MG", "7q4k9x2m", "7Q4K9X2U", ""])
def test_check_character_needs_eight_canonical_characters(payload: str) -> None:
    with pytest.raises(MistypedCertificateId, match="expected 8 upper-case"):
        check_character(payload)
