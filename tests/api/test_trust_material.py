"""/.well-known/jwks.json and /v1/trust are served through typed Structs (schemas.trust) with the
very bytes the signing code's dicts encode to: the Structs document the shapes, change nothing."""

from __future__ import annotations

import time

import httpx
import msgspec
import pytest

from registry.services import keys
from registry.services.audit import SYSTEM
from registry.signing.keys import load_root
from registry.signing.trust import build_trust_document, verify_trust_document


@pytest.fixture
async def three_keys(signing: None) -> None:
    """An active key, a retired one and a revoked one (whose revocation time is not null)."""
    first = (await keys.all_keys())[0]
    await keys.rotate(SYSTEM)
    await keys.rotate(SYSTEM)
    await keys.revoke(SYSTEM, first.kid, int(time.time()) - 10)
    assert {k.status for k in await keys.all_keys()} == {"active", "retired", "revoked"}


@pytest.mark.usefixtures("three_keys")
async def test_jwks_bytes_are_what_the_signing_code_builds(client: httpx.AsyncClient) -> None:
    response = await client.get("/.well-known/jwks.json")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.content == msgspec.json.encode(await keys.jwks())
    assert sorted(k["status"] for k in response.json()["keys"]) == ["active", "retired"]


@pytest.mark.usefixtures("three_keys")
async def test_trust_bundle_bytes_are_what_the_signing_code_builds(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/v1/trust")
    assert response.status_code == 200
    served = response.json()
    root = load_root(keys.key_files())
    document = build_trust_document(
        issuer=served["document"]["issuer"],
        issued_at=served["document"]["issued_at"],
        root=root,
        keys=await keys.all_keys(),
    )
    assert response.content == msgspec.json.encode(
        {"document": document, "signed": served["signed"]}
    )
    assert verify_trust_document(served["signed"], root.certificate_pem) == served["document"]
    revoked = [k for k in served["document"]["keys"] if k["status"] == "revoked"]
    assert len(revoked) == 1
    assert revoked[0]["revoked_from"] is not None
