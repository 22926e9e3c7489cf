"""Key rotation, retirement and revocation (DESIGN §4, §5 checks 2 and 3), as tables of cases.

The story every table below reads from, in days after T0:
  day 0    key A is created and signs statement S_A (issued day 10);
  day 100  rotation: key B is created, A retires (its sign_until lowered to day 100);
  day 110  B signs S_B;
  day 125  B signs S_late, the registry's own issuance, after the compromise nobody knew of yet;
  day 130  B is found compromised and revoked from day 120; key C is created and signs S_C.
Another registry, with its own root, has a key X that signs S_X.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace

import pytest

from registry.signing.errors import SignatureInvalid, SigningRefused
from registry.signing.jws import sign_statement, verify_statement
from registry.signing.keys import (
    KeyFiles,
    certificate_public_key,
    create_root_ca,
    create_signing_key,
)
from registry.signing.pades import sign_pdf
from registry.signing.validity import KeyRecord, check_may_sign, key_valid_at

T0 = 1_800_000_000
DAY = 86_400


def day(n: float) -> int:
    return T0 + int(n * DAY)


def claims(issued_at: int) -> dict[str, object]:
    return {"cid": "MKR-7Q4K-9X2M-G", "iat": issued_at, "exp": issued_at + 365 * DAY}


@dataclass(frozen=True)
class History:
    files: KeyFiles
    keys: dict[str, KeyRecord]  # the registry's key table after the whole story
    statements: dict[str, str]


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> History:
    files = KeyFiles(tmp_path_factory.mktemp("ours") / "keys")
    create_root_ca(files, T0)
    a = create_signing_key(files, day(0)).record()
    statements = {"S_A": sign_statement(files, a, claims(day(10)), now=day(10))}
    b = create_signing_key(files, day(100)).record()
    a = replace(a, status="retired", sign_until=day(100))
    statements["S_B"] = sign_statement(files, b, claims(day(110)), now=day(110))
    statements["S_late"] = sign_statement(files, b, claims(day(125)), now=day(125))
    b = replace(b, status="revoked", revoked_from=day(120))
    c = create_signing_key(files, day(130)).record()
    statements["S_C"] = sign_statement(files, c, claims(day(130)), now=day(130))

    elsewhere = KeyFiles(tmp_path_factory.mktemp("theirs") / "keys")
    create_root_ca(elsewhere, T0)
    x = create_signing_key(elsewhere, day(0)).record()
    statements["S_X"] = sign_statement(elsewhere, x, claims(day(10)), now=day(10))
    return History(files, {"A": a, "B": b, "C": c}, statements)


def judge(token: str, keys: Mapping[str, KeyRecord], issued_at: int) -> str:
    """What the verifier does with checks 2 and 3, reduced to one word."""
    by_kid = {key.kid: key for key in keys.values()}
    public_keys = {kid: certificate_public_key(key.certificate_pem) for kid, key in by_kid.items()}
    try:
        verified = verify_statement(token, public_keys)
    except SignatureInvalid:
        return "signature fails"
    return "good" if key_valid_at(by_kid[verified.kid], issued_at).valid else "key not valid"


@dataclass(frozen=True)
class Verification:
    name: str
    statement: str
    issued_at: int  # as the registry's issuance record says
    verdict: str


VERIFICATIONS = [
    Verification(
        "A's statement, signed before the rotation, checked after it", "S_A", day(10), "good"
    ),
    Verification(
        "B's statement, signed before the point B is revoked from", "S_B", day(110), "good"
    ),
    Verification(
        "B's statement, issued after the point B is revoked from",
        "S_late",
        day(125),
        "key not valid",
    ),
    Verification("C's statement, by the active key", "S_C", day(130), "good"),
    Verification(
        "A's statement, but the registry recorded its issuance after A retired",
        "S_A",
        day(101),
        "key not valid",
    ),
    Verification(
        "A's statement, but the registry recorded its issuance before A existed",
        "S_A",
        day(-1),
        "key not valid",
    ),
    Verification(
        "a statement by a key of another registry's root", "S_X", day(10), "signature fails"
    ),
]


@pytest.mark.parametrize("case", VERIFICATIONS, ids=lambda case: case.name)
def test_verification_across_rotations(history: History, case: Verification) -> None:
    token = history.statements[case.statement]
    assert judge(token, history.keys, case.issued_at) == case.verdict


def test_a_kid_no_one_knows_fails(history: History) -> None:
    known = {name: key for name, key in history.keys.items() if name != "C"}
    assert judge(history.statements["S_C"], known, day(130)) == "signature fails"


@dataclass(frozen=True)
class Signing:
    name: str
    key: str
    at: int
    refused_because: str | None


SIGNINGS = [
    Signing("the active key, in its signing window", "C", day(131), None),
    Signing("a retired key, after the rotation", "A", day(100) + 1, "is retired"),
    Signing("a retired key, even inside its old window", "A", day(50), "is retired"),
    Signing("a revoked key", "B", day(131), "is revoked"),
    Signing("the active key, before its certificate starts", "C", day(129), "signs from"),
    Signing("the active key, after its signing period", "C", day(130 + 365) + 1, "signs from"),
]


@pytest.mark.parametrize("case", SIGNINGS, ids=lambda case: case.name)
def test_only_an_active_key_in_its_window_signs(history: History, case: Signing) -> None:
    key = history.keys[case.key]
    if case.refused_because is None:
        check_may_sign(key, case.at)
        token = sign_statement(history.files, key, claims(case.at), now=case.at)
        assert judge(token, history.keys, case.at) == "good"
        return
    with pytest.raises(SigningRefused, match=case.refused_because):
        sign_statement(history.files, key, claims(case.at), now=case.at)
    with pytest.raises(SigningRefused, match=case.refused_because):
        sign_pdf(history.files, key, b"%PDF-1.7", reason="r", location="l", now=case.at)


KEY = KeyRecord(
    kid="K" * 43,
    status="active",
    not_before=day(0),
    not_after=day(730),
    sign_until=day(365),
    certificate_pem="(not read by key_valid_at)",
)


@dataclass(frozen=True)
class Judgement:
    name: str
    key: KeyRecord
    issued_at: int
    valid: bool
    says: str


RETIRED = replace(KEY, status="retired", sign_until=day(100))
REVOKED = replace(KEY, status="revoked", revoked_from=day(50))

JUDGEMENTS = [
    Judgement("issued inside the signing window", KEY, day(10), True, "while key"),
    Judgement("issued the second the key starts", KEY, day(0), True, "while key"),
    Judgement("issued the second signing ends", KEY, day(365), True, "while key"),
    Judgement("issued before the certificate starts", KEY, day(0) - 1, False, "before key"),
    Judgement(
        "issued after signing ended, certificate still valid",
        KEY,
        day(400),
        False,
        "stopped signing",
    ),
    Judgement("issued after the certificate ended", KEY, day(731), False, "stopped signing"),
    Judgement("retired key, issued before retirement", RETIRED, day(99), True, "while key"),
    Judgement("retired key, issued after retirement", RETIRED, day(101), False, "stopped signing"),
    Judgement("revoked from T, issued before T", REVOKED, day(49), True, "before key"),
    Judgement("revoked from T, issued at T", REVOKED, day(50), False, "was revoked"),
    Judgement("revoked from T, issued after T", REVOKED, day(60), False, "was revoked"),
    Judgement(
        "revoked with no time: nothing it signed is safe",
        replace(REVOKED, revoked_from=None),
        day(10),
        False,
        "no time",
    ),
    Judgement(
        "a status the registry does not know",
        replace(KEY, status="suspended"),  # type: ignore[arg-type]
        day(10),
        False,
        "unknown status",
    ),
]


@pytest.mark.parametrize("case", JUDGEMENTS, ids=lambda case: case.name)
def test_key_valid_at_the_registry_recorded_issuance_time(case: Judgement) -> None:
    valid, reason = key_valid_at(case.key, case.issued_at)
    assert valid is case.valid
    assert case.says in reason
    assert case.key.kid in reason


def test_times_in_reasons_are_readable() -> None:
    _, reason = key_valid_at(REVOKED, day(60))
    assert "2027-03-06 08:00:00 UTC" in reason
