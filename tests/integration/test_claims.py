"""Claim eligibility as a table of scenarios, and claims under real contention."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import httpx
import pytest

from registry.domain.identity import Role
from registry.domain.review import LEASE_SECONDS
from registry.tables import ReviewSlot
from tests.live_server import live_server
from tests.times import seconds
from tests.tiny_set import publish_tiny, submit_tiny
from tests.world import Person, World, make_person

Step = Callable[[httpx.AsyncClient, World, pytest.MonkeyPatch], Awaitable[None]]


async def _claim(client: httpx.AsyncClient, who: Person) -> httpx.Response:
    return await client.post("/v1/queue/claim", headers=who.headers)


def _advance(monkeypatch: pytest.MonkeyPatch, seconds: int) -> None:
    now = time.time() + seconds
    monkeypatch.setattr("registry.clock.now", lambda: int(now))


async def conflict_of_interest(client: httpx.AsyncClient, w: World, mp: pytest.MonkeyPatch) -> None:
    declared = await client.post(
        "/v1/reviewers/me/interests",
        json={"organisation_ids": [w.org_a]},
        headers=w.reviewer.headers,
    )
    assert declared.status_code == 200
    assert (await _claim(client, w.reviewer)).status_code == 204
    queue = (await client.get("/v1/queue", headers=w.reviewer.headers)).json()["items"]
    assert queue == [], "a conflicted reviewer does not even see the item"
    assert (await _claim(client, w.reviewer_2)).status_code == 200


async def same_reviewer_twice(client: httpx.AsyncClient, w: World, mp: pytest.MonkeyPatch) -> None:
    assert (await _claim(client, w.reviewer)).status_code == 200
    assert (await _claim(client, w.reviewer)).status_code == 204
    assert (await _claim(client, w.reviewer_2)).status_code == 200


async def both_slots_taken(client: httpx.AsyncClient, w: World, mp: pytest.MonkeyPatch) -> None:
    assert (await _claim(client, w.reviewer)).status_code == 200
    assert (await _claim(client, w.reviewer_2)).status_code == 200
    assert (await _claim(client, w.lead)).status_code == 204


async def lease_expiry(client: httpx.AsyncClient, w: World, mp: pytest.MonkeyPatch) -> None:
    first = (await _claim(client, w.reviewer)).json()
    assert (await _claim(client, w.reviewer_2)).status_code == 200
    _advance(mp, LEASE_SECONDS + 1)
    taken = await _claim(client, w.lead)
    assert taken.status_code == 200, "the lapsed slot is back in the queue"
    assert taken.json()["id"] == first["id"]
    score = await client.put(
        f"/v1/reviews/{first['id']}/scores/C1.1",
        json={"gate_pass": True},
        headers=w.reviewer.headers,
    )
    assert score.status_code == 404, "the lapsed reviewer no longer holds it"


async def release(client: httpx.AsyncClient, w: World, mp: pytest.MonkeyPatch) -> None:
    first = (await _claim(client, w.reviewer)).json()
    released = await client.post(f"/v1/reviews/{first['id']}/release", headers=w.reviewer.headers)
    assert released.status_code == 204
    assert (await _claim(client, w.reviewer_2)).status_code == 200
    assert (await _claim(client, w.lead)).status_code == 200


async def renew_before_expiry(client: httpx.AsyncClient, w: World, mp: pytest.MonkeyPatch) -> None:
    first = (await _claim(client, w.reviewer)).json()
    _advance(mp, LEASE_SECONDS - 60)
    renewed = await client.post(f"/v1/reviews/{first['id']}/renew", headers=w.reviewer.headers)
    assert renewed.status_code == 200
    assert seconds(renewed.json()["lease_until"]) > seconds(first["lease_until"])
    _advance(mp, LEASE_SECONDS + 60)
    assert (await _claim(client, w.reviewer_2)).status_code == 200
    assert (await _claim(client, w.lead)).status_code == 204, "the renewed lease still holds"


async def renew_after_expiry(client: httpx.AsyncClient, w: World, mp: pytest.MonkeyPatch) -> None:
    first = (await _claim(client, w.reviewer)).json()
    _advance(mp, LEASE_SECONDS + 1)
    renewed = await client.post(f"/v1/reviews/{first['id']}/renew", headers=w.reviewer.headers)
    assert renewed.status_code == 409


async def supplier_cannot_claim(
    client: httpx.AsyncClient, w: World, mp: pytest.MonkeyPatch
) -> None:
    assert (await _claim(client, w.supplier_a)).status_code == 403


@dataclass(frozen=True)
class Scenario:
    name: str
    run: Step


SCENARIOS = [
    Scenario("a reviewer with a conflict never gets that supplier's dossier", conflict_of_interest),
    Scenario("a reviewer never gets a second slot of the same revision", same_reviewer_twice),
    Scenario("nothing is eligible once both slots are taken", both_slots_taken),
    Scenario("an expired lease returns the slot to the queue", lease_expiry),
    Scenario("a released claim goes back to the queue", release),
    Scenario("renewing before expiry extends the lease", renew_before_expiry),
    Scenario("renewing after expiry is refused", renew_after_expiry),
    Scenario("a supplier member cannot claim", supplier_cannot_claim),
]


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: s.name)
async def test_claim_eligibility(
    client: httpx.AsyncClient, world: World, monkeypatch: pytest.MonkeyPatch, scenario: Scenario
) -> None:
    await publish_tiny()
    await submit_tiny(client, world.supplier_a.headers, "Booking")
    await scenario.run(client, world, monkeypatch)


ITEMS = 50
CLIENTS = 200


@pytest.mark.slow
async def test_200_concurrent_claims_on_50_items(client: httpx.AsyncClient, world: World) -> None:
    """Real clients against a real two-worker server: every slot filled once, nothing lost."""
    await publish_tiny()
    for n in range(ITEMS):
        await submit_tiny(client, world.supplier_a.headers, f"Product {n}")
    reviewers = [
        await make_person(f"claimer{n}@assess.example", Role.reviewer, world.assessor_org)
        for n in range(CLIENTS)
    ]
    async with live_server(workers=2) as server:
        limits = httpx.Limits(max_connections=CLIENTS)
        async with httpx.AsyncClient(base_url=server.base, timeout=60, limits=limits) as http:
            responses = await asyncio.gather(
                *(http.post("/v1/queue/claim", headers=r.headers) for r in reviewers)
            )
    stderr = server.stderr
    statuses = Counter(r.status_code for r in responses)
    assert statuses == {200: 2 * ITEMS, 204: CLIENTS - 2 * ITEMS}, (statuses, stderr[-2000:])
    assert b"database is locked" not in stderr
    claimed_ids = [r.json()["id"] for r in responses if r.status_code == 200]
    assert len(set(claimed_ids)) == 2 * ITEMS, "no slot was handed out twice"
    slots = await ReviewSlot.select(ReviewSlot.revision, ReviewSlot.status, ReviewSlot.reviewer)
    assert len(slots) == 2 * ITEMS
    assert all(s["status"] == "claimed" and s["reviewer"] is not None for s in slots), "none lost"
    per_revision = Counter(s["revision"] for s in slots)
    assert set(per_revision.values()) == {2}
    pairs = {(s["revision"], s["reviewer"]) for s in slots}
    assert len(pairs) == 2 * ITEMS, "no reviewer holds two slots of one revision"


async def test_the_periodic_sweep_returns_expired_leases(
    client: httpx.AsyncClient, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    from registry.services.queue import sweep_expired_leases
    from registry.tables import AuditEvent

    await publish_tiny()
    await submit_tiny(client, world.supplier_a.headers, "Booking")
    assert (await _claim(client, world.reviewer)).status_code == 200
    assert await sweep_expired_leases() == 0, "a live lease stays"
    _advance(monkeypatch, LEASE_SECONDS + 1)
    assert await sweep_expired_leases() == 1
    slots = await ReviewSlot.select(ReviewSlot.status, ReviewSlot.reviewer)
    assert sorted(s["status"] for s in slots) == ["open", "open"]
    tags = [row["tag"] for row in await AuditEvent.select(AuditEvent.tag)]
    assert "review:expired" in tags
    queue = (await client.get("/v1/queue", headers=world.reviewer_2.headers)).json()["items"]
    assert queue[0]["reviews_needed"] == 2
