"""Two reviewers and a lead take a submitted dossier to a decision, over HTTP."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from registry.services.audit import SYSTEM
from registry.services.criteria import builtin_document, publish
from tests.review_flow import claim, criteria_by_code, good_score, review
from tests.supplier_flow import TIER_A_ADMIN, complete_dossier, new_dossier
from tests.world import World


@pytest.fixture
async def submitted(client: httpx.AsyncClient, world: World) -> dict[str, Any]:
    """A complete tier A dossier of supplier A, submitted."""
    await publish(SYSTEM, builtin_document())
    h = world.supplier_a.headers
    dossier = await new_dossier(client, h, TIER_A_ADMIN)
    await complete_dossier(client, h, dossier, TIER_A_ADMIN)
    response = await client.post(f"/v1/dossiers/{dossier['id']}/submit", headers=h)
    assert response.status_code == 200, response.text
    return dossier


async def test_two_rounds_disagreement_moderation_then_approval(
    client: httpx.AsyncClient, world: World, submitted: dict[str, Any]
) -> None:
    dossier_id = submitted["id"]
    supplier = world.supplier_a.headers
    queue = (await client.get("/v1/queue", headers=world.reviewer.headers)).json()["items"]
    assert [(i["dossier_id"], i["revision"], i["reviews_needed"]) for i in queue] == [
        (dossier_id, 1, 2)
    ]

    # Round 1: one reviewer approves, the other asks for changes -> moderation.
    first = await review(client, world.reviewer.headers, "approve")
    assert first["status"] == "submitted"
    # The second reviewer cannot see the first one's scores: their own review has none yet.
    second_claim = await claim(client, world.reviewer_2.headers)
    assert second_claim["scores"] == []
    assert (
        await client.get(f"/v1/reviews/{first['id']}", headers=world.reviewer_2.headers)
    ).status_code == 404
    await client.post(f"/v1/reviews/{second_claim['id']}/release", headers=world.reviewer_2.headers)
    scored_section = next(c for c in first["criteria"] if criteria_by_code()[c].mode == "scored")
    await review(
        client, world.reviewer_2.headers, "changes_requested", weak=frozenset({scored_section})
    )

    revisions = (await client.get(f"/v1/dossiers/{dossier_id}/revisions", headers=supplier)).json()
    assert revisions["items"][0]["status"] == "in_review"
    assert revisions["items"][0]["decision"] is None, "no scores in progress reach the supplier"

    cases = (await client.get("/v1/moderation", headers=world.lead.headers)).json()["items"]
    assert len(cases) == 1
    case = cases[0]
    assert any("recommend" in reason for reason in case["reasons"])
    assert len(case["reviews"]) == 2
    catalogue = criteria_by_code()
    final = {code: good_score(catalogue[code]) for code in first["criteria"]}
    final[scored_section] = {"score": 0, "rationale": "The usability study is missing."}
    decided = await client.post(
        f"/v1/moderation/{case['id']}/decide",
        json={"recommendation": "changes_requested", "summary": "Add the study.", "scores": final},
        headers=world.lead.headers,
    )
    assert decided.status_code == 200, decided.text
    assert decided.json()["outcome"] == "changes_requested"
    again = await client.post(
        f"/v1/moderation/{case['id']}/decide",
        json={"recommendation": "approve", "summary": "x", "scores": final},
        headers=world.lead.headers,
    )
    assert again.status_code == 409

    # The supplier sees the outcome and per-criterion comments, and a new draft round.
    revisions = (await client.get(f"/v1/dossiers/{dossier_id}/revisions", headers=supplier)).json()
    first_round, second_round = revisions["items"]
    assert first_round["status"] == "changes_requested"
    assert first_round["decision"]["comments"][scored_section] == [
        "The usability study is missing."
    ]
    shown = str(first_round)
    for person in (world.reviewer, world.reviewer_2, world.lead):
        assert person.user_id not in shown, "reviewer identities never reach the supplier"
    assert second_round["status"] == "draft"

    # Round 2: resubmit, two approvals -> approved.
    resubmitted = await client.post(f"/v1/dossiers/{dossier_id}/submit", headers=supplier)
    assert resubmitted.status_code == 200, resubmitted.text
    await review(client, world.reviewer.headers, "approve")
    await review(client, world.reviewer_2.headers, "approve")
    revisions = (await client.get(f"/v1/dossiers/{dossier_id}/revisions", headers=supplier)).json()
    assert [r["status"] for r in revisions["items"]] == ["changes_requested", "approved"]
    assert revisions["items"][1]["decision"]["outcome"] == "approved"
    assert (await client.post("/v1/queue/claim", headers=world.lead.headers)).status_code == 204


async def test_submit_with_missing_scores_lists_them(
    client: httpx.AsyncClient, world: World, submitted: dict[str, Any]
) -> None:
    claimed = await claim(client, world.reviewer.headers)
    response = await client.post(
        f"/v1/reviews/{claimed['id']}/submit",
        json={"recommendation": "approve", "summary": "x"},
        headers=world.reviewer.headers,
    )
    assert response.status_code == 422
    assert sorted(response.json()["missing"]) == sorted(claimed["criteria"])


async def test_score_rules(
    client: httpx.AsyncClient, world: World, submitted: dict[str, Any]
) -> None:
    claimed = await claim(client, world.reviewer.headers)
    catalogue = criteria_by_code()
    gate = next(c for c in claimed["criteria"] if catalogue[c].mode == "gate")
    scored = next(c for c in claimed["criteria"] if catalogue[c].mode == "scored")
    url = f"/v1/reviews/{claimed['id']}/scores"
    h = world.reviewer.headers
    cases = [
        (gate, {"gate_pass": False}, 422, "a failed gate needs a rationale"),
        (gate, {"score": 3}, 422, "a gate takes pass/fail"),
        (scored, {"score": 0}, 422, "a low score needs a rationale"),
        (scored, {"score": 99, "rationale": "x"}, 422, "above the maximum"),
        (scored, {"gate_pass": True}, 422, "a scored criterion takes a score"),
        (scored, {"not_applicable": True}, 422, "N/A only where the supplier said na"),
        (gate, {"gate_pass": True}, 200, "a passed gate needs no rationale"),
        (scored, {"score": catalogue[scored].max_score}, 200, "full marks need no rationale"),
    ]
    for code, body, status, why in cases:
        response = await client.put(f"{url}/{code}", json=body, headers=h)
        assert response.status_code == status, f"{why}: {response.text}"


async def test_reviewer_reads_the_dossier_only_while_holding_or_after_reviewing(
    client: httpx.AsyncClient, world: World, submitted: dict[str, Any]
) -> None:
    url = f"/v1/dossiers/{submitted['id']}"
    assert (await client.get(url, headers=world.reviewer.headers)).status_code == 404
    claimed = await claim(client, world.reviewer.headers)
    assert (await client.get(url, headers=world.reviewer.headers)).status_code == 200
    evidence = (await client.get(url, headers=world.reviewer.headers)).json()["evidence"]
    if evidence:
        got = await client.get(
            f"{url}/evidence/{evidence[0]['id']}", headers=world.reviewer.headers
        )
        assert got.status_code == 200
    await client.post(f"/v1/reviews/{claimed['id']}/release", headers=world.reviewer.headers)
    assert (await client.get(url, headers=world.reviewer.headers)).status_code == 404
    assert (await client.get(url, headers=world.reviewer_2.headers)).status_code == 404


async def test_withdraw_only_before_any_claim(
    client: httpx.AsyncClient, world: World, submitted: dict[str, Any]
) -> None:
    await claim(client, world.reviewer.headers)
    response = await client.post(
        f"/v1/dossiers/{submitted['id']}/withdraw", headers=world.supplier_a.headers
    )
    assert response.status_code == 409
