"""The assessment loop never strands anyone (DESIGN §2): every step says what happened next.

Over HTTP through the app, on both engines: answers that say what followed a review or a
moderation, recommendations that count, anonymised feedback for the supplier, reviewers finding
their work again, and a certificate issuance that retries what can be retried, returns what the
supplier must fix, and never has two issuers at once.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import msgspec
import pytest

from registry import clock
from registry.blobs import blob_store
from registry.domain.review import LEASE_SECONDS
from registry.services import issuance, keys
from registry.services.audit import SYSTEM
from registry.services.blob_sweep import sweep_unreferenced_blobs
from registry.services.criteria import publish
from registry.tables import AuditEvent, Certificate, Revision
from schemas.criteria import EvidenceRequirement
from tests.supplier_flow import tiny_pdf, upload
from tests.times import seconds
from tests.tiny_set import TINY, publish_tiny, submit_tiny
from tests.world import World

CODE = "C1.1"
CE = "cyber_essentials_certificate"
DAY = 86_400
# The tiny set with its one gate backed by a Cyber Essentials certificate with an expiry date.
TINY_CE = msgspec.structs.replace(
    TINY,
    key="tiny-ce",
    sections=[
        msgspec.structs.replace(
            TINY.sections[0],
            criteria=[
                msgspec.structs.replace(
                    TINY.sections[0].criteria[0],
                    evidence=EvidenceRequirement(document_types=[CE], expiry_required=True),
                )
            ],
        )
    ],
)


def reviewer_words(world: World) -> list[str]:
    """Everything that would identify a reviewer or the lead: ids, emails and names."""
    people = (world.reviewer, world.reviewer_2, world.lead)
    emails = ["rita@assess.example", "ravi@assess.example", "lena@assess.example"]
    return [p.user_id for p in people] + emails + ["rita", "ravi", "lena"]


async def review(
    client: httpx.AsyncClient,
    who: dict[str, str],
    *,
    passed: bool,
    recommendation: str,
    rationale: str = "Checked at source.",
    summary: str = "Reviewed in full.",
) -> dict[str, Any]:
    """Claim the next item, score its gate and submit; the submit answer."""
    claimed = await client.post("/v1/queue/claim", headers=who)
    assert claimed.status_code == 200, claimed.text
    review_id = claimed.json()["id"]
    scored = await client.put(
        f"/v1/reviews/{review_id}/scores/{CODE}",
        json={"gate_pass": passed, "rationale": rationale},
        headers=who,
    )
    assert scored.status_code == 200, scored.text
    submitted = await client.post(
        f"/v1/reviews/{review_id}/submit",
        json={"recommendation": recommendation, "summary": summary},
        headers=who,
    )
    assert submitted.status_code == 200, submitted.text
    body: dict[str, Any] = submitted.json()
    return body


async def revisions(client: httpx.AsyncClient, world: World, dossier: str) -> list[dict[str, Any]]:
    """The dossier's revisions as its supplier sees them."""
    response = await client.get(
        f"/v1/dossiers/{dossier}/revisions", headers=world.supplier_a.headers
    )
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def into_moderation(client: httpx.AsyncClient, world: World) -> tuple[str, dict[str, Any]]:
    """A tiny-set dossier one reviewer passes and the other fails: (dossier, its open case)."""
    await publish_tiny()
    dossier = await submit_tiny(client, world.supplier_a.headers, "Booking")
    await review(client, world.reviewer.headers, passed=True, recommendation="approve")
    await review(
        client, world.reviewer_2.headers, passed=False, recommendation="reject", rationale="No."
    )
    cases = (await client.get("/v1/moderation", headers=world.lead.headers)).json()["items"]
    assert len(cases) == 1, cases
    case: dict[str, Any] = cases[0]
    return dossier, case


async def decide(
    client: httpx.AsyncClient,
    world: World,
    case: dict[str, Any],
    recommendation: str,
    *,
    passed: bool,
    rationale: str,
    summary: str = "Moderated.",
) -> httpx.Response:
    """The lead's decision on ``case``, with the gate passed or failed."""
    return await client.post(
        f"/v1/moderation/{case['id']}/decide",
        json={
            "recommendation": recommendation,
            "summary": summary,
            "scores": {CODE: {"gate_pass": passed, "rationale": rationale}},
        },
        headers=world.lead.headers,
    )


async def revision_id(dossier: str, number: int = 1) -> Any:
    row = await Revision.select(Revision.id).where(Revision.natural_key == f"{dossier}:{number}")
    return row[0]["id"]


async def audit_tags() -> list[str]:
    return [row["tag"] for row in await AuditEvent.select(AuditEvent.tag)]


def clock_at(monkeypatch: pytest.MonkeyPatch, at: int) -> None:
    """Move the registry's clock (every module reads it through ``clock.now``)."""
    monkeypatch.setattr(clock, "now", lambda: at)


# --- answers say what happened ------------------------------------------------------------


@pytest.mark.usefixtures("signing")
async def test_each_review_submit_says_what_followed(
    client: httpx.AsyncClient, world: World
) -> None:
    await publish_tiny()
    dossier = await submit_tiny(client, world.supplier_a.headers, "Booking")

    first = await review(client, world.reviewer.headers, passed=True, recommendation="approve")
    progress = first["progress"]
    assert progress["status"] == "in_review"
    assert (progress["reviews_submitted"], progress["reviews_required"]) == (1, 2)
    assert progress["next_step"] == "Waiting for 1 more independent review (1 of 2 submitted)."
    assert progress["certificate_id"] is None

    last = await review(client, world.reviewer_2.headers, passed=True, recommendation="approve")
    progress = last["progress"]
    assert progress["status"] == "approved"
    assert progress["certificate_id"], "the last submit names the certificate it led to"
    assert progress["issuance"]["state"] == "issued"
    assert progress["certificate_id"] in progress["next_step"]

    listed = (await revisions(client, world, dossier))[-1]
    assert listed["certificate_id"] == progress["certificate_id"]
    assert listed["issuance"]["state"] == "issued"
    assert listed["next_step"] == progress["next_step"]


# --- recommendations count ----------------------------------------------------------------


@pytest.mark.usefixtures("signing")
async def test_reviewers_who_agree_against_the_rule_go_to_moderation(
    client: httpx.AsyncClient, world: World
) -> None:
    await publish_tiny()
    dossier = await submit_tiny(client, world.supplier_a.headers, "Booking")
    for who in (world.reviewer, world.reviewer_2):
        answer = await review(
            client,
            who.headers,
            passed=True,
            recommendation="changes_requested",
            summary="Please add the DPIA sign-off page.",
        )
    progress = answer["progress"]
    assert progress["status"] == "in_review", "passing scores do not overrule the reviewers"
    assert progress["in_moderation"] is True
    assert "lead reviewer" in progress["next_step"]
    assert await Certificate.count() == 0

    cases = (await client.get("/v1/moderation", headers=world.lead.headers)).json()["items"]
    assert len(cases) == 1
    case = cases[0]
    reasons = " ".join(case["reasons"])
    assert "changes_requested" in reasons
    assert "rule would approve" in reasons
    assert [r["label"] for r in case["reviews"]] == ["Reviewer 1", "Reviewer 2"]
    assert {r["reviewer_name"] for r in case["reviews"]} == {"rita", "ravi"}

    # The lead's own scores must agree with the lead's recommendation: no silent override.
    contradicted = await decide(
        client, world, case, "changes_requested", passed=True, rationale="Present."
    )
    assert contradicted.status_code == 422, contradicted.text
    assert contradicted.headers["content-type"] == "application/problem+json"
    assert "the rule approves" in contradicted.json()["detail"]

    decided = await decide(
        client, world, case, "changes_requested", passed=False, rationale="No sign-off page."
    )
    assert decided.status_code == 200, decided.text
    body = decided.json()
    assert body["outcome"] == "changes_requested"
    assert body["progress"]["status"] == "changes_requested"
    assert body["progress"]["certificate_id"] is None
    statuses = [r["status"] for r in await revisions(client, world, dossier)]
    assert statuses == ["changes_requested", "draft"]


@pytest.mark.usefixtures("signing")
async def test_a_moderated_approval_names_its_certificate(
    client: httpx.AsyncClient, world: World
) -> None:
    _, case = await into_moderation(client, world)
    assert not any(world.reviewer.user_id in reason for reason in case["reasons"])
    assert any("rita" in reason for reason in case["reasons"]), case["reasons"]
    decided = await decide(client, world, case, "approve", passed=True, rationale="Page 3.")
    assert decided.status_code == 200, decided.text
    progress = decided.json()["progress"]
    assert progress["status"] == "approved"
    assert progress["issuance"]["state"] == "issued"
    certificate = await client.get(f"/v1/certificates/{progress['certificate_id']}")
    assert certificate.json()["status"] == "valid"


# --- feedback reaches the supplier --------------------------------------------------------


@pytest.mark.usefixtures("signing")
async def test_the_supplier_reads_anonymised_feedback(
    client: httpx.AsyncClient, world: World
) -> None:
    await publish_tiny()
    dossier = await submit_tiny(client, world.supplier_a.headers, "Booking")
    url = f"/v1/dossiers/{dossier}/revisions/1/feedback"
    waiting = await client.get(url, headers=world.supplier_a.headers)
    assert waiting.status_code == 409, "no feedback before the decision"
    assert "Waiting for 2 more" in waiting.json()["detail"]

    for who, summary in (
        (world.reviewer, "Please add the DPIA sign-off page."),
        (world.reviewer_2, "The safety case is unsigned."),
    ):
        await review(
            client,
            who.headers,
            passed=False,
            recommendation="changes_requested",
            rationale="The clinical safety case has no signature page.",
            summary=summary,
        )
    response = await client.get(url, headers=world.supplier_a.headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["outcome"] == "changes_requested"
    assert body["gates"] == [{"code": CODE, "title": "Has a safety case", "result": "fail"}]
    assert body["sections"][0]["code"] == "C1"
    assert [r["label"] for r in body["reviews"]] == ["Reviewer 1", "Reviewer 2"]
    assert [r["summary"] for r in body["reviews"]] == [
        "Please add the DPIA sign-off page.",
        "The safety case is unsigned.",
    ]
    assert body["reviews"][0]["comments"][0]["text"].startswith("The clinical safety case")
    change = body["changes"][0]
    assert change["code"] == CODE
    assert change["comments"] == [
        "Reviewer 1: The clinical safety case has no signature page.",
        "Reviewer 2: The clinical safety case has no signature page.",
    ]
    assert "draft" in body["next_step"]
    for word in reviewer_words(world):
        assert word not in response.text, f"feedback names a reviewer: {word}"

    # Another supplier never learns it exists; the next revision, a draft, has none yet.
    other = await client.get(url, headers=world.supplier_b.headers)
    assert other.status_code == 404
    draft = await client.get(
        f"/v1/dossiers/{dossier}/revisions/2/feedback", headers=world.supplier_a.headers
    )
    assert draft.status_code == 409
    assert draft.headers["content-type"] == "application/problem+json"
    admin = await client.get(url, headers=world.admin.headers)
    assert admin.status_code == 200


@pytest.mark.usefixtures("signing")
async def test_moderated_feedback_labels_the_moderator(
    client: httpx.AsyncClient, world: World
) -> None:
    dossier, case = await into_moderation(client, world)
    decided = await decide(
        client,
        world,
        case,
        "reject",
        passed=False,
        rationale="Nothing on file.",
        summary="No safety case at all.",
    )
    assert decided.status_code == 200, decided.text
    response = await client.get(
        f"/v1/dossiers/{dossier}/revisions/1/feedback", headers=world.supplier_a.headers
    )
    body = response.json()
    assert body["outcome"] == "rejected"
    assert body["moderated"] is True
    assert [r["label"] for r in body["reviews"]] == ["Reviewer 1", "Reviewer 2", "Moderator"]
    assert body["reviews"][-1]["summary"] == "No safety case at all."
    assert body["gates"][0]["result"] == "fail", "the moderator's final scores decide"
    assert "Moderator: Nothing on file." in body["changes"][0]["comments"]
    for word in reviewer_words(world):
        assert word not in response.text, f"feedback names a reviewer: {word}"


# --- reviewers find their work ------------------------------------------------------------


async def test_a_reviewer_finds_an_open_review_again_and_releases_it(
    client: httpx.AsyncClient, world: World
) -> None:
    await publish_tiny()
    dossier = await submit_tiny(client, world.supplier_a.headers, "Booking")
    h = world.reviewer.headers
    claimed = (await client.post("/v1/queue/claim", headers=h)).json()
    # The reviewer lost the id; claiming again finds nothing for them (one slot per revision).
    assert (await client.post("/v1/queue/claim", headers=h)).status_code == 204

    listed = await client.get("/v1/reviews", params={"state": "open"}, headers=h)
    assert listed.status_code == 200, listed.text
    [item] = listed.json()["items"]
    assert item["id"] == claimed["id"]
    assert item["dossier_id"] == dossier
    assert (item["product"], item["supplier"]) == ("Booking", "Supplier A Ltd")
    assert 0 < item["lease_seconds_left"] <= LEASE_SECONDS
    assert item["scored"] == 0
    others = await client.get("/v1/reviews", headers=world.reviewer_2.headers)
    assert others.json()["items"] == [], "a reviewer sees only their own reviews"

    renewed = await client.post(f"/v1/reviews/{item['id']}/renew", headers=h)
    assert renewed.status_code == 200, renewed.text
    released = await client.post(f"/v1/reviews/{item['id']}/release", headers=h)
    assert released.status_code == 204, released.text
    assert (await client.get("/v1/reviews", params={"state": "open"}, headers=h)).json()[
        "items"
    ] == []
    queue = (await client.get("/v1/queue", headers=world.reviewer_2.headers)).json()["items"]
    assert queue[0]["reviews_needed"] == 2, "the released claim is back in the queue"

    await review(client, h, passed=True, recommendation="approve")
    submitted = await client.get("/v1/reviews", params={"state": "submitted"}, headers=h)
    [done] = submitted.json()["items"]
    assert done["status"] == "submitted"
    assert done["lease_seconds_left"] is None
    assert done["recommendation"] == "approve"
    assert done["scored"] == 1


async def test_the_review_list_refuses_an_unknown_state(
    client: httpx.AsyncClient, world: World
) -> None:
    response = await client.get(
        "/v1/reviews", params={"state": "lost"}, headers=world.reviewer.headers
    )
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/problem+json"


async def test_the_review_list_pages_with_a_cursor(
    client: httpx.AsyncClient, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    await publish_tiny()
    start = int(time.time())
    for n in range(3):
        await submit_tiny(client, world.supplier_a.headers, f"Product {n}")
        clock_at(monkeypatch, start + n)  # claims a second apart: a stable order
        assert (
            await client.post("/v1/queue/claim", headers=world.reviewer.headers)
        ).status_code == 200
    seen: list[str] = []
    cursor = None
    for _ in range(5):  # bounded: three items in pages of two
        params: dict[str, Any] = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = (
            await client.get("/v1/reviews", params=params, headers=world.reviewer.headers)
        ).json()
        seen += [item["product"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == ["Product 2", "Product 1", "Product 0"], "newest claim first, each once"


# --- issuance never dead-ends --------------------------------------------------------------


async def approve_without_keys(client: httpx.AsyncClient, world: World) -> tuple[str, Any]:
    """A tiny-set dossier both reviewers approve while no signing key exists; (dossier, last
    submit answer)."""
    await publish_tiny()
    dossier = await submit_tiny(client, world.supplier_a.headers, "Booking")
    await review(client, world.reviewer.headers, passed=True, recommendation="approve")
    last = await review(client, world.reviewer_2.headers, passed=True, recommendation="approve")
    return dossier, last


async def test_a_transient_failure_is_visible_and_retried_with_backoff(
    client: httpx.AsyncClient,
    world: World,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="registry")
    dossier, last = await approve_without_keys(client, world)
    progress = last["progress"]
    assert progress["status"] == "approved"
    assert progress["certificate_id"] is None
    shown = progress["issuance"]
    assert shown["state"] == "pending"
    assert "no signing key" in shown["reason"]
    assert shown["attempts"] == 1
    next_attempt_at = seconds(shown["next_attempt_at"])
    assert next_attempt_at > time.time()
    assert "tries again" in progress["next_step"]
    assert (await revisions(client, world, dossier))[0]["issuance"] == shown
    listed = await client.get(
        "/v1/issuance", params={"state": "pending"}, headers=world.admin.headers
    )
    assert [i["dossier_id"] for i in listed.json()["items"]] == [dossier]
    assert not [r for r in caplog.records if r.exc_info], "an expected failure has no traceback"

    await keys.init_keys(SYSTEM)
    assert await issuance.issue_pending() == [], "nothing is retried before its backoff ends"
    clock_at(monkeypatch, next_attempt_at + 1)
    [attempt] = await issuance.issue_pending()
    assert attempt.state == "issued"
    listed_now = (await revisions(client, world, dossier))[0]
    assert listed_now["certificate_id"] == attempt.certificate_id
    assert listed_now["issuance"]["attempts"] == 2
    assert "issuance:deferred" in await audit_tags()


async def test_evidence_that_lapses_after_approval_returns_the_revision_with_its_reason(
    client: httpx.AsyncClient,
    world: World,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    await publish(SYSTEM, TINY_CE)
    h = world.supplier_a.headers
    product = await client.post(
        "/v1/products",
        json={"name": "Booking", "intended_purpose": "Booking.", "profile": _profile()},
        headers=h,
    )
    created = await client.post(
        "/v1/dossiers",
        json={
            "product_id": product.json()["id"],
            "product_version": "1.0",
            "criteria_set_key": "tiny-ce",
            "criteria_set_version": 1,
        },
        headers=h,
    )
    dossier = created.json()["id"]
    assert (
        await client.put(f"/v1/dossiers/{dossier}/answers/{CODE}", json={"value": True}, headers=h)
    ).status_code == 200
    expires = dt.datetime.now(dt.UTC).date() + dt.timedelta(days=40)
    uploaded = await upload(
        client, h, dossier, CE, [CODE], tiny_pdf("ce"), expires_on=expires.isoformat()
    )
    assert uploaded.status_code == 201, uploaded.text
    assert (await client.post(f"/v1/dossiers/{dossier}/submit", headers=h)).status_code == 200
    for who in (world.reviewer, world.reviewer_2):
        await review(client, who.headers, passed=True, recommendation="approve")
    assert (await revisions(client, world, dossier))[0]["issuance"]["state"] == "pending"

    # The key problem is fixed only after the certificate had lapsed.
    clock_at(monkeypatch, int(time.time()) + 45 * DAY)
    await keys.init_keys(SYSTEM)
    caplog.clear()
    caplog.set_level(logging.INFO, logger="registry")
    [attempt] = await issuance.issue_pending(ignore_backoff=True)
    assert attempt.state == "failed"
    assert attempt.reason == (
        f"upload a current Cyber Essentials certificate: the one relied on for {CODE} "
        f"expired on {expires.isoformat()}"
    )
    assert await issuance.issue_pending(ignore_backoff=True) == [], "a failure never loops"
    returned, draft = await revisions(client, world, dossier)
    assert returned["status"] == "changes_requested"
    assert returned["issuance"]["state"] == "failed"
    assert returned["decision"]["returned_because"] == attempt.reason
    assert draft["status"] == "draft", "the supplier can fix it in the next revision"
    assert await Certificate.count() == 0
    tags = await audit_tags()
    assert "issuance:failed" in tags
    assert "revision:returned" in tags
    feedback = await client.get(f"/v1/dossiers/{dossier}/revisions/1/feedback", headers=h)
    assert feedback.status_code == 200, feedback.text
    assert attempt.reason in feedback.json()["changes"][0]["what"]
    lines = [r for r in caplog.records if str(attempt.revision_id) in r.getMessage()]
    assert len(lines) == 1, "an expected failure is one log line"
    assert not lines[0].exc_info


def _profile() -> dict[str, Any]:
    from tests.supplier_flow import TIER_A_ADMIN

    return TIER_A_ADMIN


@pytest.mark.slow
async def test_issue_pending_exits_non_zero_with_a_line_per_failure(
    client: httpx.AsyncClient, world: World
) -> None:
    await approve_without_keys(client, world)
    result = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "registry.cli", "certificates", "issue-pending"],
        env=dict(os.environ),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 1, result.stdout + result.stderr
    lines = result.stdout.strip().splitlines()
    assert lines[0] == "issued 0 certificate(s): -"
    assert len(lines) == 2
    assert "pending: no signing key may sign now" in lines[1]
    assert "Traceback" not in result.stderr


# --- one issuer at a time -------------------------------------------------------------------


class CountingRender:
    """Wraps the render-and-sign step: counts calls and holds each one open for a while, so that
    a second issuer, if the claim let it, would render at the same time."""

    def __init__(self, real: Any, hold_seconds: float) -> None:
        self.real, self.hold, self.calls = real, hold_seconds, 0
        self.lock = threading.Lock()

    def __call__(self, *args: Any) -> Any:
        with self.lock:
            self.calls += 1
        time.sleep(self.hold)
        return self.real(*args)


async def test_concurrent_issuers_render_once_and_leave_no_orphan(
    client: httpx.AsyncClient, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    dossier, _ = await approve_without_keys(client, world)
    await keys.init_keys(SYSTEM)
    render = CountingRender(issuance._render_and_sign, hold_seconds=0.5)
    monkeypatch.setattr(issuance, "_render_and_sign", render)
    before = {d async for d, _ in blob_store().entries()}
    revision = await revision_id(dossier)
    results = await asyncio.gather(
        issuance.issue_for(revision),
        issuance.issue_pending(ignore_backoff=True),
        issuance.issue_pending(ignore_backoff=True),
        issuance.issue_for(revision),
    )
    assert render.calls == 1, "one issuer rendered; the others found the claim taken"
    assert await Certificate.count() == 1
    issued = [r for r in results if r is not None and not isinstance(r, list)]
    issued += [a for r in results if isinstance(r, list) for a in r]
    assert len(issued) == 1
    stored = {d async for d, _ in blob_store().entries()} - before
    assert len(stored) == 1, "one PDF stored"
    # Earlier tests' blobs share the store; what this one stored must all be referenced.
    assert not stored & set(await sweep_unreferenced_blobs(grace_seconds=-5)), "no orphan blob"


@pytest.mark.slow
@pytest.mark.usefixtures("signing")
async def test_the_approving_request_and_the_periodic_issuer_never_both_render(
    client: httpx.AsyncClient, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    await publish_tiny()
    await submit_tiny(client, world.supplier_a.headers, "Booking")
    await review(client, world.reviewer.headers, passed=True, recommendation="approve")
    render = CountingRender(issuance._render_and_sign, hold_seconds=0.5)
    monkeypatch.setattr(issuance, "_render_and_sign", render)
    before = {d async for d, _ in blob_store().entries()}
    periodic: list[Any] = []

    async def periodic_issuer() -> None:
        for _ in range(30):  # bounded: ~1.5 s of a very eager periodic issuer
            periodic.extend(await issuance.issue_pending(ignore_backoff=True))
            await asyncio.sleep(0.05)

    last, _ = await asyncio.gather(
        review(client, world.reviewer_2.headers, passed=True, recommendation="approve"),
        periodic_issuer(),
    )
    assert render.calls == 1
    assert periodic == [], "the periodic issuer never took the request's claim"
    assert last["progress"]["certificate_id"]
    assert await Certificate.count() == 1
    stored = {d async for d, _ in blob_store().entries()} - before
    assert len(stored) == 1, "one PDF stored"
    assert not stored & set(await sweep_unreferenced_blobs(grace_seconds=-5)), "no orphan blob"


@pytest.mark.usefixtures("signing")
async def test_the_assessment_report_shows_the_same_labelled_feedback(
    client: httpx.AsyncClient, world: World, tmp_path: Path
) -> None:
    from tests.unit.test_reports_certificate import pdf_text

    dossier, case = await into_moderation(client, world)
    decided = await decide(
        client,
        world,
        case,
        "approve",
        passed=True,
        rationale="Found on page 3.",
        summary="Signed safety case found.",
    )
    certificate = decided.json()["progress"]["certificate_id"]
    feedback = (
        await client.get(
            f"/v1/dossiers/{dossier}/revisions/1/feedback", headers=world.supplier_a.headers
        )
    ).json()
    report = await client.get(
        f"/v1/certificates/{certificate}/report.pdf", headers=world.supplier_a.headers
    )
    assert report.status_code == 200, report.text
    text = " ".join(pdf_text(report.content, tmp_path).split())
    assert "What the reviewers concluded" in text
    for said in feedback["reviews"]:
        assert said["label"] in text
        assert said["summary"] in text
    assert "Moderator: Found on page 3." in text
    for word in reviewer_words(world):
        assert word not in text, f"the report names a reviewer: {word}"
