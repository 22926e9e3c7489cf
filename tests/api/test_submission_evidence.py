"""Submission over HTTP refuses evidence a certificate could not rely on.

A certificate's validity is cut by the earliest expiry of any evidence a gate relied on, so a
stale Cyber Essentials certificate beside a current one must stop the dossier at submission, not
at issuance after two reviews. Uploading the stale file stays allowed (it can be history).
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import httpx
import pytest

from registry.services.audit import SYSTEM
from registry.services.criteria import builtin_document, publish
from registry.tables import Revision
from tests.supplier_flow import TIER_A_ADMIN, complete_dossier, new_dossier, tiny_pdf, upload
from tests.world import World

CE = "cyber_essentials_certificate"
# On kitemark-core/1, C3.1 is a gate that needs a Cyber Essentials certificate with its expiry
# date (it applies to every product) and C3.6 a gate that needs a policy document.
GATE = "C3.1"
POLICY_GATE = "C3.6"


@pytest.fixture
async def published(world: World) -> None:
    await publish(SYSTEM, builtin_document())


pytestmark = pytest.mark.usefixtures("published")


def today() -> dt.date:
    return dt.datetime.now(dt.UTC).date()


async def complete_draft(client: httpx.AsyncClient, headers: dict[str, str]) -> str:
    """A tier A dossier with every criterion answered and every document current; its id."""
    dossier = await new_dossier(client, headers, TIER_A_ADMIN)
    await complete_dossier(client, headers, dossier, TIER_A_ADMIN)
    dossier_id: str = dossier["id"]
    return dossier_id


async def upload_certificate(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    dossier_id: str,
    filename: str,
    expires_on: str,
    codes: tuple[str, ...] = (GATE,),
) -> dict[str, Any]:
    response = await upload(
        client,
        headers,
        dossier_id,
        CE,
        list(codes),
        tiny_pdf(filename),
        filename=filename,
        expires_on=expires_on,
    )
    assert response.status_code == 201, "an expired or expiring file may still be uploaded"
    body: dict[str, Any] = response.json()
    return body


async def gaps(client: httpx.AsyncClient, headers: dict[str, str], dossier_id: str) -> Any:
    response = await client.get(f"/v1/dossiers/{dossier_id}/completeness", headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


async def refused(client: httpx.AsyncClient, headers: dict[str, str], dossier_id: str) -> Any:
    """Submit, expect the 422 problem, and check that nothing was frozen or queued."""
    response = await client.post(f"/v1/dossiers/{dossier_id}/submit", headers=headers)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    assert problem["field"] == "completeness"
    revisions = await client.get(f"/v1/dossiers/{dossier_id}/revisions", headers=headers)
    assert [(r["status"], r["digest"]) for r in revisions.json()["items"]] == [("draft", None)]
    rows = await Revision.select(Revision.frozen, Revision.digest).where(
        Revision.dossier == uuid.UUID(dossier_id)
    )
    assert rows == [{"frozen": None, "digest": None}], "nothing is frozen"
    return problem


EXPIRED = (
    "Cyber Essentials certificate 'ce-2019.pdf' expired on 2020-03-01: remove it from {code} "
    "(and upload a current one if you have none)"
)


async def test_an_expired_certificate_beside_a_current_one_blocks_submission(
    client: httpx.AsyncClient, world: World
) -> None:
    h = world.supplier_a.headers
    dossier_id = await complete_draft(client, h)
    assert (await gaps(client, h, dossier_id))["complete"], "the current certificate suffices"

    stale = await upload_certificate(client, h, dossier_id, "ce-2019.pdf", "2020-03-01")
    report = await gaps(client, h, dossier_id)
    assert not report["complete"]
    assert [(g["code"], g["problem"]) for g in report["gaps"]] == [
        (GATE, EXPIRED.format(code=GATE))
    ]

    problem = await refused(client, h, dossier_id)
    assert problem["completeness"] == report
    assert EXPIRED.format(code=GATE) in problem["detail"]
    assert (
        await client.post("/v1/queue/claim", headers=world.reviewer.headers)
    ).status_code == 204, "nothing reached the review queue"

    deleted = await client.delete(f"/v1/dossiers/{dossier_id}/evidence/{stale['id']}", headers=h)
    assert deleted.status_code == 204
    assert (await gaps(client, h, dossier_id))["complete"]
    submitted = await client.post(f"/v1/dossiers/{dossier_id}/submit", headers=h)
    assert submitted.status_code == 200, submitted.text
    assert submitted.json()["status"] == "submitted"


async def test_each_problem_is_its_own_gap_on_every_criterion_relying_on_the_file(
    client: httpx.AsyncClient, world: World
) -> None:
    h = world.supplier_a.headers
    dossier_id = await complete_draft(client, h)
    await upload_certificate(
        client, h, dossier_id, "ce-2019.pdf", "2020-03-01", codes=(GATE, POLICY_GATE)
    )
    problem = await refused(client, h, dossier_id)
    assert [(g["code"], g["problem"]) for g in problem["completeness"]["gaps"]] == [
        (GATE, EXPIRED.format(code=GATE)),
        (
            POLICY_GATE,
            f"Cyber Essentials certificate 'ce-2019.pdf' is not a document type {POLICY_GATE} "
            f"accepts (only: policy document): remove it from {POLICY_GATE}",
        ),
    ]


async def test_a_certificate_expiring_within_30_days_blocks_submission(
    client: httpx.AsyncClient, world: World
) -> None:
    h = world.supplier_a.headers
    dossier_id = await complete_draft(client, h)
    soon = (today() + dt.timedelta(days=10)).isoformat()
    await upload_certificate(client, h, dossier_id, "ce-soon.pdf", soon)

    problem = await refused(client, h, dossier_id)
    assert [(g["code"], g["problem"]) for g in problem["completeness"]["gaps"]] == [
        (
            GATE,
            f"Cyber Essentials certificate 'ce-soon.pdf' expires on {soon}, in 10 days; the "
            "registry needs at least 30 days of remaining validity: upload a renewed one and "
            f"remove this one from {GATE}",
        )
    ]


async def test_a_certificate_with_exactly_30_days_left_is_accepted(
    client: httpx.AsyncClient, world: World
) -> None:
    h = world.supplier_a.headers
    dossier_id = await complete_draft(client, h)
    enough = (today() + dt.timedelta(days=30)).isoformat()
    await upload_certificate(client, h, dossier_id, "ce-enough.pdf", enough)
    submitted = await client.post(f"/v1/dossiers/{dossier_id}/submit", headers=h)
    assert submitted.status_code == 200, submitted.text
