"""Drive reviewers through the HTTP API: claim, score every applicable criterion, submit."""

from __future__ import annotations

from typing import Any

import httpx

from registry.services.criteria import builtin_document
from schemas.criteria import Criterion


def criteria_by_code() -> dict[str, Criterion]:
    """Every criterion of the built-in set by code."""
    return {c.code: c for s in builtin_document().sections for c in s.criteria}


def good_score(criterion: Criterion) -> dict[str, Any]:
    """Full marks: a passed gate or the maximum score."""
    if criterion.mode == "gate":
        return {"gate_pass": True, "rationale": "Checked at source."}
    return {"score": criterion.max_score, "rationale": "Strong evidence."}


def weak_score(criterion: Criterion) -> dict[str, Any]:
    """A failed gate or a zero, each with the rationale such a score needs."""
    if criterion.mode == "gate":
        return {"gate_pass": False, "rationale": "Document missing its signature page."}
    return {"score": 0, "rationale": "No evidence of this."}


async def claim(client: httpx.AsyncClient, headers: dict[str, str]) -> dict[str, Any]:
    """Claim the next item (asserts one was eligible)."""
    response = await client.post("/v1/queue/claim", headers=headers)
    assert response.status_code == 200, response.text
    review: dict[str, Any] = response.json()
    return review


async def review(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    recommendation: str,
    *,
    weak: frozenset[str] = frozenset(),
) -> dict[str, Any]:
    """Claim, score every criterion (``weak`` codes badly, the rest well) and submit."""
    claimed = await claim(client, headers)
    catalogue = criteria_by_code()
    for code in claimed["criteria"]:
        body = (weak_score if code in weak else good_score)(catalogue[code])
        response = await client.put(
            f"/v1/reviews/{claimed['id']}/scores/{code}", json=body, headers=headers
        )
        assert response.status_code == 200, response.text
    submitted = await client.post(
        f"/v1/reviews/{claimed['id']}/submit",
        json={"recommendation": recommendation, "summary": "Reviewed in full."},
        headers=headers,
    )
    assert submitted.status_code == 200, submitted.text
    result: dict[str, Any] = submitted.json()
    return result
