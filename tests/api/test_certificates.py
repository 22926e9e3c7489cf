"""Certificates over HTTP: issuance on approval, signed PDF, statement, trust, status changes."""

from __future__ import annotations

import time
from dataclasses import dataclass

import httpx
import pytest

from registry.signing.jws import verify_statement
from registry.signing.keys import certificate_public_key
from registry.signing.pades import async_inspect_pdf
from registry.signing.trust import verify_trust_document
from registry.tables import AuditEvent, Certificate
from tests.times import rfc3339, seconds
from tests.tiny_set import approve_tiny, publish_tiny
from tests.world import World

pytestmark = pytest.mark.usefixtures("signing")


@pytest.fixture
async def certificate_id(client: httpx.AsyncClient, world: World) -> str:
    await publish_tiny()
    return await approve_tiny(client, world)


async def test_an_approved_dossier_gets_a_signed_certificate(
    client: httpx.AsyncClient, certificate_id: str
) -> None:
    body = (await client.get(f"/v1/certificates/{certificate_id}")).json()
    assert body["status"] == "valid"
    assert body["product_name"] == "Booking"
    assert body["supplier_name"] == "Supplier A Ltd"
    assert [e["action"] for e in body["history"]] == ["issued"]
    assert seconds(body["valid_until"]) > seconds(body["issued_at"])

    # The statement verifies under the published keys and names this certificate.
    token = (await client.get(f"/v1/certificates/{certificate_id}/statement")).text
    trust = (await client.get("/v1/trust")).json()
    root_pem = trust["document"]["root"]["certificate_pem"]
    document = verify_trust_document(trust["signed"], root_pem)
    keys = {k["kid"]: certificate_public_key(k["certificate_pem"]) for k in document["keys"]}
    verified = verify_statement(token, keys)
    assert verified.claims["cid"] == certificate_id
    assert verified.claims["pn"] == "Booking"
    # The statement keeps integer seconds (RFC 7519 NumericDate); the API says the same instants.
    assert (body["issued_at"], body["valid_until"]) == (
        rfc3339(verified.claims["iat"]),
        rfc3339(verified.claims["exp"]),
    )
    jwks = (await client.get("/.well-known/jwks.json")).json()
    assert verified.kid in {k["kid"] for k in jwks["keys"]}

    # The PDF is signed over the whole file and carries the same statement.
    pdf = await client.get(f"/v1/certificates/{certificate_id}/pdf")
    assert pdf.status_code == 200
    assert pdf.headers["content-type"] == "application/pdf"
    assert "immutable" in pdf.headers["cache-control"]
    report = await async_inspect_pdf(pdf.content, root_pem)
    assert report.valid, report.error
    assert report.coverage_entire_file
    assert report.signer_kid == verified.kid
    assert report.embedded_files["statement.jws"].decode() == token
    again = await client.get(
        f"/v1/certificates/{certificate_id}/pdf", headers={"If-None-Match": pdf.headers["etag"]}
    )
    assert again.status_code == 304


async def test_the_pdf_is_stored_once_never_rerendered(
    client: httpx.AsyncClient, certificate_id: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import registry.services.issuance as issuance

    def refuse(*args: object, **kwargs: object) -> bytes:
        raise AssertionError("a download must never render")

    monkeypatch.setattr(issuance, "render_certificate", refuse)
    first = await client.get(f"/v1/certificates/{certificate_id}/pdf")
    second = await client.get(f"/v1/certificates/{certificate_id}/pdf")
    assert first.content == second.content
    assert first.headers["etag"] == second.headers["etag"]


@dataclass(frozen=True)
class Step:
    action: str
    status: int
    shown: str | None


@dataclass(frozen=True)
class Lifecycle:
    name: str
    steps: tuple[Step, ...]


LIFECYCLES = [
    Lifecycle(
        "suspend then reinstate",
        (Step("suspend", 200, "suspended"), Step("reinstate", 200, "valid")),
    ),
    Lifecycle("reinstate a valid certificate", (Step("reinstate", 409, "valid"),)),
    Lifecycle(
        "suspend twice", (Step("suspend", 200, "suspended"), Step("suspend", 409, "suspended"))
    ),
    Lifecycle(
        "revoke is final",
        (
            Step("revoke", 200, "revoked"),
            Step("reinstate", 409, "revoked"),
            Step("suspend", 409, "revoked"),
            Step("revoke", 409, "revoked"),
        ),
    ),
    Lifecycle(
        "revoke while suspended",
        (Step("suspend", 200, "suspended"), Step("revoke", 200, "revoked")),
    ),
]


@pytest.mark.parametrize("case", LIFECYCLES, ids=lambda c: c.name)
async def test_status_lifecycle(
    client: httpx.AsyncClient, world: World, certificate_id: str, case: Lifecycle
) -> None:
    for step in case.steps:
        response = await client.post(
            f"/v1/certificates/{certificate_id}/status",
            json={"action": step.action, "reason": "safety_concern", "note": "Reported incident."},
            headers=world.admin.headers,
        )
        assert response.status_code == step.status, response.text
        shown = (await client.get(f"/v1/certificates/{certificate_id}")).json()
        assert shown["status"] == step.shown
    history = (await client.get(f"/v1/certificates/{certificate_id}")).json()["history"]
    assert all(e["reason"] == "safety_concern" for e in history[1:])


async def test_a_newer_approval_supersedes_and_is_final(
    client: httpx.AsyncClient, world: World, certificate_id: str
) -> None:
    from registry.tables import Product

    # A second dossier for the same product: approval supersedes the first certificate.
    product = await Product.select(Product.id).first()
    assert product is not None
    h = world.supplier_a.headers
    dossier = await client.post(
        "/v1/dossiers",
        json={
            "product_id": str(product["id"]),
            "product_version": "2.0",
            "criteria_set_key": "tiny",
            "criteria_set_version": 1,
        },
        headers=h,
    )
    dossier_id = dossier.json()["id"]
    await client.put(f"/v1/dossiers/{dossier_id}/answers/C1.1", json={"value": True}, headers=h)
    assert (await client.post(f"/v1/dossiers/{dossier_id}/submit", headers=h)).status_code == 200
    for reviewer in (world.reviewer, world.reviewer_2):
        review = (await client.post("/v1/queue/claim", headers=reviewer.headers)).json()
        await client.put(
            f"/v1/reviews/{review['id']}/scores/C1.1",
            json={"gate_pass": True},
            headers=reviewer.headers,
        )
        await client.post(
            f"/v1/reviews/{review['id']}/submit",
            json={"recommendation": "approve", "summary": "ok"},
            headers=reviewer.headers,
        )
    successor = (await client.get(f"/v1/dossiers/{dossier_id}/revisions", headers=h)).json()[
        "items"
    ][0]["certificate_id"]
    old = (await client.get(f"/v1/certificates/{certificate_id}")).json()
    assert old["status"] == "superseded"
    assert old["superseded_by"] == successor
    assert old["status_reason"] == "reassessed"
    refused = await client.post(
        f"/v1/certificates/{certificate_id}/status",
        json={"action": "reinstate", "reason": "administrative_error", "note": "x"},
        headers=world.admin.headers,
    )
    assert refused.status_code == 409


async def test_expired_is_derived_from_the_clock(
    client: httpx.AsyncClient, certificate_id: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    body = (await client.get(f"/v1/certificates/{certificate_id}")).json()
    valid_until = seconds(body["valid_until"])
    monkeypatch.setattr("registry.clock.now", lambda: valid_until)
    expired = (await client.get(f"/v1/certificates/{certificate_id}")).json()
    assert expired["status"] == "expired"
    row = await Certificate.select(Certificate.status).first()
    assert row is not None
    assert row["status"] == "valid", "expiry is never stored"


async def test_status_change_needs_admin_and_a_reason(
    client: httpx.AsyncClient, world: World, certificate_id: str
) -> None:
    url = f"/v1/certificates/{certificate_id}/status"
    body = {"action": "suspend", "reason": "safety_concern", "note": "x"}
    assert (await client.post(url, json=body)).status_code == 401
    assert (await client.post(url, json=body, headers=world.supplier_a.headers)).status_code == 403
    bad = {"action": "suspend", "reason": "because", "note": "x"}
    assert (await client.post(url, json=bad, headers=world.admin.headers)).status_code == 400
    mistyped = certificate_id[:-1] + ("0" if certificate_id[-1] != "0" else "1")
    response = await client.get(f"/v1/certificates/{mistyped}")
    assert response.status_code == 422
    assert "mistyped" in response.json()["detail"]


async def test_report_is_for_the_supplier_its_reviewers_and_admins(
    client: httpx.AsyncClient, world: World, certificate_id: str
) -> None:
    url = f"/v1/certificates/{certificate_id}/report.pdf"
    for who, status in [
        (world.supplier_a, 200),
        (world.supplier_b, 404),
        (world.reviewer, 200),
        (world.lead, 404),
        (world.admin, 200),
    ]:
        response = await client.get(url, headers=who.headers)
        assert response.status_code == status, (who, response.text[:200])
        if status == 200:
            assert response.content.startswith(b"%PDF")
    assert (await client.get(url)).status_code == 401


@dataclass(frozen=True)
class Failure:
    name: str
    target: str


FAILURES = [
    Failure("rendering the PDF fails", "registry.services.issuance.render_certificate"),
    Failure("signing the PDF fails", "registry.signing.pades.sign_pdf"),
    Failure("the commit fails", "registry.services.issuance._supersede_earlier"),
]


@pytest.mark.parametrize("failure", FAILURES, ids=lambda f: f.name)
async def test_failed_issuance_leaves_nothing_behind(
    client: httpx.AsyncClient, world: World, monkeypatch: pytest.MonkeyPatch, failure: Failure
) -> None:
    from registry.blobs import blob_store
    from registry.services.blob_sweep import sweep_unreferenced_blobs
    from registry.services.issuance import issue_pending

    def boom(*args: object, **kwargs: object) -> None:
        raise RuntimeError(f"injected: {failure.name}")

    async def async_boom(*args: object, **kwargs: object) -> None:
        boom()

    monkeypatch.setattr(failure.target, async_boom if "supersede" in failure.target else boom)
    await publish_tiny()
    before = {d async for d, _ in blob_store().entries()}
    with pytest.raises(AssertionError, match="approval issues the certificate"):
        await approve_tiny(client, world)
    assert await Certificate.count() == 0
    tags = [row["tag"] for row in await AuditEvent.select(AuditEvent.tag)]
    assert not [t for t in tags if t.startswith("certificate:")]
    leftovers = {d async for d, _ in blob_store().entries()} - before
    removed = await sweep_unreferenced_blobs(grace_seconds=-5)
    assert leftovers <= set(removed), "a blob a failed commit left is swept"
    # Once the fault is gone, the pending approval is issued (an operator's run skips backoff).
    monkeypatch.undo()
    assert await issue_pending() == [], "the retry waits for its backoff"
    issued = await issue_pending(ignore_backoff=True)
    assert [a.state for a in issued] == ["issued"]
    certificate_id = issued[0].certificate_id
    assert (await client.get(f"/v1/certificates/{certificate_id}")).json()["status"] == "valid"


async def test_key_rotation_keeps_old_certificates_verifiable(
    client: httpx.AsyncClient, world: World, certificate_id: str
) -> None:
    from registry.services import keys
    from registry.services.audit import SYSTEM

    old_kid = (await client.get(f"/v1/certificates/{certificate_id}")).json()["kid"]
    new = await keys.rotate(SYSTEM)
    assert new.kid != old_kid
    second = await approve_tiny(client, world, name="Second product")
    assert (await client.get(f"/v1/certificates/{second}")).json()["kid"] == new.kid
    jwks = {k["kid"]: k for k in (await client.get("/.well-known/jwks.json")).json()["keys"]}
    assert jwks[old_kid]["status"] == "retired", "a retired key still verifies what it signed"
    await keys.revoke(SYSTEM, old_kid, int(time.time()) - 10)
    jwks = {k["kid"] for k in (await client.get("/.well-known/jwks.json")).json()["keys"]}
    assert old_kid not in jwks, "a revoked key leaves jwks.json"
    trust = (await client.get("/v1/trust")).json()["document"]["keys"]
    revoked = next(k for k in trust if k["kid"] == old_kid)
    assert revoked["status"] == "revoked"
    assert revoked["revoked_from"] is not None


async def test_with_a_timestamp_authority_the_pdf_is_pades_b_t(
    client: httpx.AsyncClient, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    from registry.signing import pades
    from tests.tsa import dummy_tsa, has_signature_timestamp

    stamper = dummy_tsa()
    monkeypatch.setattr(pades, "timestamper_for", lambda url: stamper)
    await publish_tiny()
    certificate_id = await approve_tiny(client, world)
    pdf = (await client.get(f"/v1/certificates/{certificate_id}/pdf")).content
    assert has_signature_timestamp(pdf), "a configured TSA stamps the signature (B-T)"
    body = (
        await client.post("/v1/verify/pdf", files={"file": ("c.pdf", pdf, "application/pdf")})
    ).json()
    assert body["verdict"] == "good_to_go", body


async def test_without_a_timestamp_authority_the_pdf_is_pades_b_b(
    client: httpx.AsyncClient, certificate_id: str
) -> None:
    from tests.tsa import has_signature_timestamp

    pdf = (await client.get(f"/v1/certificates/{certificate_id}/pdf")).content
    assert not has_signature_timestamp(pdf)
