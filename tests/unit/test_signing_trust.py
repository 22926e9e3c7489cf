"""The signed trust bundle (DESIGN §4): what an offline verifier caches, pinned to the root."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest

from registry.signing.errors import SignatureInvalid
from registry.signing.jws import sign_compact
from registry.signing.keys import (
    KeyFiles,
    RootInfo,
    create_root_ca,
    create_signing_key,
    load_root,
    load_root_private_key,
)
from registry.signing.trust import (
    TRUST_TYPE,
    build_trust_document,
    sign_trust_document,
    trusted_keys,
    verify_trust_document,
    verify_trust_document_pinned,
)
from registry.signing.validity import KeyRecord

NOW = 1_800_000_000
DAY = 86_400


@dataclass(frozen=True)
class Registry:
    files: KeyFiles
    root: RootInfo
    retired: KeyRecord
    revoked: KeyRecord
    active: KeyRecord

    def document(self, **changes: Any) -> dict[str, Any]:
        document = build_trust_document(
            issuer="http://registry.test",
            issued_at=NOW + 200 * DAY,
            root=self.root,
            keys=[self.active, self.revoked, self.retired],
        )
        return {**document, **changes}


def make_registry(directory: Path) -> Registry:
    files = KeyFiles(directory)
    root = create_root_ca(files, NOW)
    first = create_signing_key(files, NOW).record()
    second = create_signing_key(files, NOW + 100 * DAY).record()
    third = create_signing_key(files, NOW + 150 * DAY).record()
    return Registry(
        files=files,
        root=root,
        retired=replace(first, status="retired", sign_until=NOW + 100 * DAY),
        revoked=replace(second, status="revoked", revoked_from=NOW + 120 * DAY),
        active=third,
    )


@pytest.fixture(scope="module")
def ours(tmp_path_factory: pytest.TempPathFactory) -> Registry:
    return make_registry(tmp_path_factory.mktemp("ours") / "keys")


@pytest.fixture(scope="module")
def theirs(tmp_path_factory: pytest.TempPathFactory) -> Registry:
    return make_registry(tmp_path_factory.mktemp("theirs") / "keys")


def test_round_trip_keeps_revoked_keys_with_their_revocation_time(ours: Registry) -> None:
    token = sign_trust_document(ours.files, ours.document())
    header = json.loads(base64.urlsafe_b64decode(token.split(".")[0] + "=="))
    assert header["typ"] == TRUST_TYPE
    assert header["kid"] == ours.root.kid
    assert verify_trust_document(token, ours.root.certificate_pem) == ours.document()
    assert verify_trust_document_pinned(token, ours.root.sha256.upper()) == ours.document()
    keys = trusted_keys(ours.document())
    assert keys == {key.kid: key for key in (ours.retired, ours.revoked, ours.active)}
    assert [key["status"] for key in ours.document()["keys"]] == ["retired", "revoked", "active"]


def resign(registry: Registry, document: dict[str, Any]) -> str:
    """A bundle signed by the registry's real root over an arbitrary document."""
    root = load_root(registry.files)
    header = {
        "alg": "ES256",
        "typ": TRUST_TYPE,
        "kid": root.kid,
        "x5c": [base64.b64encode(_der(root)).decode()],
    }
    return sign_compact(header, document, load_root_private_key(registry.files))


def _der(root: RootInfo) -> bytes:
    body = "".join(root.certificate_pem.strip().splitlines()[1:-1])
    return base64.b64decode(body)


def foreign_key(ours: Registry, theirs: Registry) -> dict[str, Any]:
    keys = ours.document()["keys"]
    entry = {**keys[0], "kid": theirs.active.kid, "certificate_pem": theirs.active.certificate_pem}
    entry |= {"not_before": theirs.active.not_before, "not_after": theirs.active.not_after}
    entry["sign_until"] = theirs.active.sign_until
    return ours.document(keys=[*keys, entry])


def with_key(ours: Registry, index: int, **changes: Any) -> dict[str, Any]:
    keys = [dict(key) for key in ours.document()["keys"]]
    keys[index].update(changes)
    return ours.document(keys=keys)


@dataclass(frozen=True)
class BadBundle:
    name: str
    token: Callable[[Registry, Registry], str]
    says: str


BAD_BUNDLES = [
    BadBundle(
        "signed by another registry's root",
        lambda ours, theirs: sign_trust_document(theirs.files, ours.document()),
        "its header names another root",
    ),
    BadBundle(
        "payload changed after signing",
        lambda ours, theirs: ".".join(
            [
                sign_trust_document(ours.files, ours.document()).split(".")[0],
                base64.urlsafe_b64encode(json.dumps(ours.document(issued_at=0)).encode())
                .rstrip(b"=")
                .decode(),
                sign_trust_document(ours.files, ours.document()).split(".")[2],
            ]
        ),
        "does not verify",
    ),
    BadBundle(
        "lists a key certified by another root",
        lambda ours, theirs: resign(ours, foreign_key(ours, theirs)),
        "was not issued by the root",
    ),
    BadBundle(
        "names a kid that is not its certificate's thumbprint",
        lambda ours, theirs: resign(ours, with_key(ours, 0, kid=ours.active.kid)),
        "expected kid",
    ),
    BadBundle(
        "lists one key twice",
        lambda ours, theirs: resign(ours, ours.document(keys=ours.document()["keys"] * 2)),
        "appears twice",
    ),
    BadBundle(
        "stretches a key's validity beyond its certificate",
        lambda ours, theirs: resign(ours, with_key(ours, 2, not_after=NOW + 9_999 * DAY)),
        "does not match its certificate",
    ),
    BadBundle(
        "revokes a key without a time",
        lambda ours, theirs: resign(ours, with_key(ours, 1, revoked_from=None)),
        "without a revocation time",
    ),
    BadBundle(
        "has an unknown status",
        lambda ours, theirs: resign(ours, with_key(ours, 1, status="suspended")),
        "expected a trust document",
    ),
    BadBundle(
        "has an unknown member",
        lambda ours, theirs: resign(ours, ours.document(extra=True)),
        "expected a trust document",
    ),
    BadBundle(
        "claims another root in its body",
        lambda ours, theirs: resign(ours, ours.document(root=theirs.document()["root"])),
        "expected the bundle's root",
    ),
    BadBundle(
        "is a certificate statement, not a bundle",
        lambda ours, theirs: sign_compact(
            {"alg": "ES256", "typ": "mkr-certificate+jws", "kid": ours.root.kid},
            ours.document(),
            load_root_private_key(ours.files),
        ),
        "expected header members",
    ),
]


@pytest.mark.parametrize("case", BAD_BUNDLES, ids=lambda case: case.name)
def test_bad_bundles_are_refused(ours: Registry, theirs: Registry, case: BadBundle) -> None:
    token = case.token(ours, theirs)
    with pytest.raises(SignatureInvalid) as raised:
        verify_trust_document(token, ours.root.certificate_pem)
    assert case.says in raised.value.detail


def test_a_pin_that_does_not_match_is_refused(ours: Registry, theirs: Registry) -> None:
    token = sign_trust_document(theirs.files, theirs.document())
    with pytest.raises(SignatureInvalid, match=f"expected root {ours.root.sha256}"):
        verify_trust_document_pinned(token, ours.root.sha256)
