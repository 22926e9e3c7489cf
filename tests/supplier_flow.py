"""Drive a supplier through the HTTP API: product, dossier, answers, evidence, submission."""

from __future__ import annotations

import datetime as dt
from typing import Any

import httpx
import msgspec

from registry.domain.criteria import applicable_criteria
from schemas.criteria import CriteriaSetDocument, Criterion, ProductProfile

TIER_C_DEVICE: dict[str, Any] = {
    "esf_tier": "C",
    "medical_device_class": "IIa",
    "processes_personal_data": True,
    "integrates_with_clinical_systems": True,
    "patient_facing": True,
}
TIER_A_ADMIN: dict[str, Any] = {
    "esf_tier": "A",
    "medical_device_class": "none",
    "processes_personal_data": False,
    "integrates_with_clinical_systems": False,
    "patient_facing": False,
}


def tiny_pdf(text: str = "evidence") -> bytes:
    """A small byte string that starts like a PDF (the sniffer's test), distinct per text."""
    return b"%PDF-1.7\n% " + text.encode() + b"\n%%EOF\n"


def answer_for(criterion: Criterion) -> object:
    """A positive, well-typed answer for any criterion."""
    return {
        "yes_no": True,
        "yes_no_na": "yes",
        "text": "Described in the attached documents.",
        "date": "2026-06-01",
        "number": 3,
    }.get(criterion.response_type, (criterion.choices or ["x"])[0])


async def builtin(client: httpx.AsyncClient) -> CriteriaSetDocument:
    """The published kitemark-core/1 document, as the public API serves it."""
    response = await client.get("/v1/criteria-sets/kitemark-core/1")
    assert response.status_code == 200, response.text
    return msgspec.convert(response.json()["document"], CriteriaSetDocument)


async def new_dossier(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    profile: dict[str, Any],
    name: str = "Triage",
) -> dict[str, Any]:
    """A product and a draft dossier for it against kitemark-core/1."""
    product = await client.post(
        "/v1/products",
        json={"name": name, "intended_purpose": "Helps patients reach care.", "profile": profile},
        headers=headers,
    )
    assert product.status_code == 201, product.text
    dossier = await client.post(
        "/v1/dossiers",
        json={"product_id": product.json()["id"], "product_version": "2.4.1"},
        headers=headers,
    )
    assert dossier.status_code == 201, dossier.text
    body: dict[str, Any] = dossier.json()
    return body


async def upload(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    dossier_id: str,
    document_type: str,
    codes: list[str],
    content: bytes,
    filename: str = "evidence.pdf",
    **fields: str,
) -> httpx.Response:
    """POST one evidence file as multipart."""
    return await client.post(
        f"/v1/dossiers/{dossier_id}/evidence",
        files={"file": (filename, content, "application/pdf")},
        data={"document_type": document_type, "criteria": ",".join(codes), **fields},
        headers=headers,
    )


async def complete_dossier(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    dossier: dict[str, Any],
    profile: dict[str, Any],
) -> list[Criterion]:
    """Answer every applicable criterion and upload every document it requires."""
    document = await builtin(client)
    criteria = applicable_criteria(document, msgspec.convert(profile, ProductProfile))
    today = dt.datetime.now(dt.UTC).date()
    for criterion in criteria:
        response = await client.put(
            f"/v1/dossiers/{dossier['id']}/answers/{criterion.code}",
            json={"value": answer_for(criterion)},
            headers=headers,
        )
        assert response.status_code == 200, response.text
        for document_type in criterion.evidence.document_types:
            response = await upload(
                client,
                headers,
                dossier["id"],
                document_type,
                [criterion.code],
                tiny_pdf(f"{criterion.code} {document_type}"),
                expires_on=(today + dt.timedelta(days=300)).isoformat(),
                issued_on=(today - dt.timedelta(days=30)).isoformat(),
            )
            assert response.status_code == 201, response.text
    return criteria
