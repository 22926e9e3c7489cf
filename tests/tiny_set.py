"""A one-criterion criteria set and a fast way to queue many submitted revisions with it."""

from __future__ import annotations

import httpx

from registry.services.audit import SYSTEM
from registry.services.criteria import publish
from schemas.criteria import (
    CriteriaSetDocument,
    Criterion,
    EvidenceRequirement,
    ReviewPolicy,
    Section,
)
from tests.supplier_flow import TIER_A_ADMIN
from tests.world import World

TINY = CriteriaSetDocument(
    key="tiny",
    version=1,
    title="One question",
    description="A criteria set small enough to queue hundreds of revisions in a test.",
    review_policy=ReviewPolicy(required_reviews=2, tolerance_points=10),
    sections=[
        Section(
            code="C1",
            title="Safety",
            threshold_percent=0,
            criteria=[
                Criterion(
                    code="C1.1",
                    title="Has a safety case",
                    guidance="Say yes if it does.",
                    response_type="yes_no",
                    evidence=EvidenceRequirement(document_types=[]),
                    mode="gate",
                )
            ],
        )
    ],
)


async def publish_tiny() -> None:
    """Publish the tiny set (idempotent)."""
    await publish(SYSTEM, TINY)


async def submit_tiny(client: httpx.AsyncClient, headers: dict[str, str], name: str) -> str:
    """Create a product and a tiny-set dossier, answer it and submit it; return the dossier id."""
    product = await client.post(
        "/v1/products",
        json={"name": name, "intended_purpose": "Booking.", "profile": TIER_A_ADMIN},
        headers=headers,
    )
    assert product.status_code == 201, product.text
    dossier = await client.post(
        "/v1/dossiers",
        json={
            "product_id": product.json()["id"],
            "product_version": "1.0",
            "criteria_set_key": "tiny",
            "criteria_set_version": 1,
        },
        headers=headers,
    )
    assert dossier.status_code == 201, dossier.text
    dossier_id: str = dossier.json()["id"]
    answer = await client.put(
        f"/v1/dossiers/{dossier_id}/answers/C1.1", json={"value": True}, headers=headers
    )
    assert answer.status_code == 200, answer.text
    submitted = await client.post(f"/v1/dossiers/{dossier_id}/submit", headers=headers)
    assert submitted.status_code == 200, submitted.text
    return dossier_id


async def approve_tiny(client: httpx.AsyncClient, world: World, name: str = "Booking") -> str:
    """Take a tiny-set dossier of supplier A through two approving reviews; return its cert ID."""
    dossier_id = await submit_tiny(client, world.supplier_a.headers, name)
    for reviewer in (world.reviewer, world.reviewer_2):
        claimed = await client.post("/v1/queue/claim", headers=reviewer.headers)
        assert claimed.status_code == 200, claimed.text
        review_id = claimed.json()["id"]
        scored = await client.put(
            f"/v1/reviews/{review_id}/scores/C1.1",
            json={"gate_pass": True},
            headers=reviewer.headers,
        )
        assert scored.status_code == 200, scored.text
        submitted = await client.post(
            f"/v1/reviews/{review_id}/submit",
            json={"recommendation": "approve", "summary": "Fine."},
            headers=reviewer.headers,
        )
        assert submitted.status_code == 200, submitted.text
    revisions = await client.get(
        f"/v1/dossiers/{dossier_id}/revisions", headers=world.supplier_a.headers
    )
    latest = revisions.json()["items"][-1]
    assert latest["status"] == "approved", latest
    assert latest["certificate_id"], "approval issues the certificate"
    certificate_id: str = latest["certificate_id"]
    return certificate_id
