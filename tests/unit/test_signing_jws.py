"""Signed statements (DESIGN §4): a compact JWS over canonical JSON, and every forgery refused.

Each refusal case starts from one genuine token and changes one thing, the way an attacker or a
damaged QR code would; all must raise SignatureInvalid (an InvalidInput) and say why.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from joserfc import jws
from joserfc.jwk import ECKey

from registry.errors import InvalidInput
from registry.signing.errors import SignatureInvalid
from registry.signing.jws import (
    MAX_STATEMENT_CHARS,
    STATEMENT_TYPE,
    PublicKey,
    peek_kid,
    sign_statement,
    verify_statement,
)
from registry.signing.keys import (
    KeyFiles,
    SigningKeyInfo,
    certificate_public_key,
    create_root_ca,
    create_signing_key,
    load_signing_key,
)

NOW = 1_800_000_000
CLAIMS: dict[str, Any] = {
    "iss": "http://registry.test",
    "cid": "MKR-7Q4K-9X2M-G",
    "pn": "Acme Triage Assistant",
    "pv": "3.2.1",
    "sn": "Acme Digital Health Ltd",
    "cs": "kitemark-core/1",
    "csh": "q6urq6urq6urq6urq6urq6urq6urq6urq6urq6urq6s",
    "dh": "zc3Nzc3Nzc3Nzc3Nzc3Nzc3Nzc3Nzc3Nzc3Nzc3Nzc0",
    "iat": NOW,
    "exp": NOW + 365 * 86_400,
}


@dataclass(frozen=True)
class World:
    files: KeyFiles
    key: SigningKeyInfo
    other: SigningKeyInfo
    token: str

    @property
    def trust(self) -> dict[str, PublicKey]:
        return {
            self.key.kid: certificate_public_key(self.key.certificate_pem),
            self.other.kid: self.other.public_jwk,
        }


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> World:
    files = KeyFiles(tmp_path_factory.mktemp("keys") / "signing")
    create_root_ca(files, NOW)
    key = create_signing_key(files, NOW)
    other = create_signing_key(files, NOW)
    return World(files, key, other, sign_statement(files, key.record(), CLAIMS, now=NOW))


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def segment(value: dict[str, Any]) -> str:
    return b64(json.dumps(value, separators=(",", ":")).encode())


def decoded(part: str) -> Any:
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


def signed_raw(world: World, header: dict[str, Any], payload: bytes) -> str:
    """A token properly ES256-signed by the real key, over any header and payload bytes."""
    private_key, _ = load_signing_key(world.files, world.key.kid)
    signing_input = f"{segment(header)}.{b64(payload)}"
    registry = jws.JWSRegistry(algorithms=["ES256"], strict_check_header=False)
    algorithm = registry.get_alg("ES256")
    signature = algorithm.sign(signing_input.encode(), ECKey.import_key(private_key))
    return f"{signing_input}.{b64(signature)}"


def test_round_trip(world: World) -> None:
    header, payload, signature = world.token.split(".")
    assert decoded(header) == {"alg": "ES256", "typ": STATEMENT_TYPE, "kid": world.key.kid}
    assert (
        base64.urlsafe_b64decode(payload + "==")
        == json.dumps(CLAIMS, separators=(",", ":"), sort_keys=True).encode()
    )
    assert len(base64.urlsafe_b64decode(signature + "==")) == 64
    assert peek_kid(world.token) == world.key.kid
    for trust in (world.trust, {world.key.kid: world.key.public_jwk}):
        verified = verify_statement(world.token, trust)
        assert verified.kid == world.key.kid
        assert verified.claims == CLAIMS
        assert verified.header["typ"] == STATEMENT_TYPE


def replace_payload(token: str, claims: dict[str, Any]) -> str:
    header, _, signature = token.split(".")
    payload = json.dumps(claims, separators=(",", ":"), sort_keys=True).encode()
    return f"{header}.{b64(payload)}.{signature}"


def replace_header(token: str, **changes: Any) -> str:
    header, payload, signature = token.split(".")
    return f"{segment({**decoded(header), **changes})}.{payload}.{signature}"


def hs256_with_public_key(world: World) -> str:
    """The classic key-confusion forgery: HMAC keyed with the published public key."""
    header = {"alg": "HS256", "typ": STATEMENT_TYPE, "kid": world.key.kid}
    signing_input = f"{segment(header)}.{world.token.split('.')[1]}"
    secret = certificate_public_key(world.key.certificate_pem).public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    mac = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64(mac)}"


def with_stray_signature_bits(token: str) -> str:
    """Same signature bytes, different text: 86 characters carry 4 unused bits (RFC 4648 §3.5)."""
    head, last = token[:-1], token[-1]
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    return head + alphabet[alphabet.index(last) ^ 0b0001]


@dataclass(frozen=True)
class Forgery:
    name: str
    forge: Callable[[World], str]
    says: str | tuple[str, ...]


FORGERIES = [
    Forgery(
        "payload changed, signature kept",
        lambda w: replace_payload(w.token, {**CLAIMS, "pn": "Evil Triage"}),
        "does not verify",
    ),
    Forgery(
        "expiry extended, signature kept",
        lambda w: replace_payload(w.token, {**CLAIMS, "exp": CLAIMS["exp"] + 1}),
        "does not verify",
    ),
    Forgery("typ changed to JWT", lambda w: replace_header(w.token, typ="JWT"), "expected typ"),
    Forgery(
        "alg none, signature dropped",
        lambda w: ".".join([*replace_header(w.token, alg="none").split(".")[:2], ""]),
        "three non-empty base64url parts",
    ),
    Forgery(
        "alg none, signature kept",
        lambda w: replace_header(w.token, alg="none"),
        "expected alg ES256, found 'none'",
    ),
    Forgery("HS256 keyed with the public key", hs256_with_public_key, "expected alg ES256"),
    Forgery("ES384 claimed", lambda w: replace_header(w.token, alg="ES384"), "expected alg"),
    Forgery(
        "extra crit member",
        lambda w: replace_header(w.token, crit=["exp"]),
        "expected header members",
    ),
    Forgery(
        "unencoded payload (RFC 7797 b64=false)",
        lambda w: replace_header(w.token, b64=False),
        "expected header members",
    ),
    Forgery(
        "attacker's own key embedded as jwk",
        lambda w: replace_header(w.token, jwk=w.other.public_jwk),
        "expected header members",
    ),
    Forgery(
        "kid missing",
        lambda w: segment({"alg": "ES256", "typ": STATEMENT_TYPE}) + ".e30.AA",
        "expected header members",
    ),
    Forgery(
        "kid of another trusted key",
        lambda w: replace_header(w.token, kid=w.other.kid),
        "does not verify under key",
    ),
    Forgery(
        "kid no one trusts",
        lambda w: replace_header(w.token, kid="A" * 43),
        "not in the trust material",
    ),
    Forgery(
        "kid that is a path", lambda w: replace_header(w.token, kid="../root-ca"), "thumbprint"
    ),
    Forgery("truncated by one character", lambda w: w.token[:-1], "base64url"),
    # 84 characters hold exactly 63 bytes; 82 leave stray bits.
    Forgery("truncated by two characters", lambda w: w.token[:-2], "64-byte ES256 signature"),
    # 82 characters leave four stray bits: usually set (not canonical), sometimes all zero, and
    # then the signature is simply too short. Either way it is refused.
    Forgery(
        "truncated by four characters",
        lambda w: w.token[:-4],
        ("canonical base64url", "64-byte ES256 signature"),
    ),
    Forgery("truncated to two parts", lambda w: w.token.rsplit(".", 1)[0], "three non-empty"),
    Forgery("signature cut to 48 bytes", lambda w: w.token[:-22], "64-byte ES256 signature"),
    Forgery("padding added", lambda w: w.token + "==", "base64url"),
    Forgery(
        "stray bits in the last character",
        lambda w: with_stray_signature_bits(w.token),
        "canonical base64url",
    ),
    Forgery("a fourth part", lambda w: w.token + ".AAAA", "three non-empty"),
    Forgery("whitespace inside", lambda w: w.token.replace(".", ". ", 1), "base64url"),
    Forgery(
        "header not JSON", lambda w: b64(b"{not json") + w.token[w.token.index(".") :], "to be JSON"
    ),
    Forgery(
        "header a JSON array", lambda w: b64(b"[1]") + w.token[w.token.index(".") :], "JSON object"
    ),
    Forgery("oversized", lambda w: w.token + "A" * MAX_STATEMENT_CHARS, "at most 4096"),
    Forgery("empty", lambda w: "", "three non-empty"),
    Forgery(
        "signed, but the payload is not canonical JSON",
        lambda w: signed_raw(
            w,
            {"alg": "ES256", "typ": STATEMENT_TYPE, "kid": w.key.kid},
            json.dumps(CLAIMS).encode(),
        ),
        "canonical JSON",
    ),
    Forgery(
        "signed, but the payload holds a float",
        lambda w: signed_raw(
            w,
            {"alg": "ES256", "typ": STATEMENT_TYPE, "kid": w.key.kid},
            b'{"exp":1.5}',
        ),
        "canonical JSON",
    ),
    Forgery(
        "signed, but the payload is a list",
        lambda w: signed_raw(w, {"alg": "ES256", "typ": STATEMENT_TYPE, "kid": w.key.kid}, b"[]"),
        "JSON object",
    ),
]


@pytest.mark.parametrize("case", FORGERIES, ids=lambda case: case.name)
def test_forgeries_are_refused(world: World, case: Forgery) -> None:
    token = case.forge(world)
    with pytest.raises(SignatureInvalid) as raised:
        verify_statement(token, world.trust)
    expected = (case.says,) if isinstance(case.says, str) else case.says
    assert any(fragment in raised.value.detail for fragment in expected), raised.value.detail
    assert isinstance(raised.value, InvalidInput)


def test_a_statement_that_is_not_text_is_refused(world: World) -> None:
    with pytest.raises(SignatureInvalid, match="as text"):
        verify_statement(world.token.encode(), world.trust)  # type: ignore[arg-type]


def test_library_errors_are_wrapped(world: World) -> None:
    with pytest.raises(SignatureInvalid) as raised:
        verify_statement(replace_header(world.token, kid=world.other.kid), world.trust)
    assert raised.value.__cause__ is not None


def test_a_broken_trusted_key_is_refused(world: World) -> None:
    with pytest.raises(SignatureInvalid, match="not an EC public key"):
        verify_statement(world.token, {world.key.kid: {"kty": "EC", "crv": "P-256"}})


def test_peek_kid_checks_the_header_but_not_the_signature(world: World) -> None:
    assert peek_kid(replace_payload(world.token, {"anything": 1})) == world.key.kid
    with pytest.raises(SignatureInvalid, match="expected typ"):
        peek_kid(replace_header(world.token, typ="JWT"))


def test_claims_too_long_for_a_statement_are_refused_at_signing(world: World) -> None:
    with pytest.raises(InvalidInput, match="at most 4096 characters"):
        sign_statement(world.files, world.key.record(), {"pn": "x" * 4000}, now=NOW)
