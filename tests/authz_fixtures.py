"""Objects the authorization matrix acts on, made over HTTP: fresh for every test case of a row
whose request changes state, played once and copied into every case of a row that only reads.

Each *scene* is an async function of the client and the World that builds what one row's
request needs and returns the ids its path and body name (``{dossier}``, ``{review}``, …).
Scenes use the tiny one-criterion set, so a submitted dossier costs four requests, and queue
one dossier at a time, so who claims what is certain (the queue hands out the oldest first).
"""

from __future__ import annotations

import base64
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
from piccolo.columns import Serial
from piccolo.table import Table, sort_table_classes

from registry.blobs import blob_store
from registry.db import write_transaction
from registry.piccolo_app import APP_CONFIG
from registry.services import keys
from registry.services.audit import SYSTEM
from registry.tables import Certificate, Evidence, ModerationCase, Revision
from tests.supplier_flow import TIER_A_ADMIN, tiny_pdf
from tests.tiny_set import approve_tiny, publish_tiny
from tests.world import Person, World, make_world

Ids = dict[str, str]
Scene = Callable[[httpx.AsyncClient, World], Awaitable[Ids]]

# The tiny set's one criterion: a gate answered yes/no.
CODE = "C1.1"
# The tiny set's criterion lists no document types, so it accepts none but ``other`` (whatever a
# reviewer asks for fits every criterion); any other type there is a gap that blocks submission.
DOCUMENT_TYPE = "other"


def _ok(response: httpx.Response, status: int = 200) -> dict[str, Any]:
    assert response.status_code == status, f"{response.request.url}: {response.text}"
    body: dict[str, Any] = response.json() if response.content else {}
    return body


# --- the World and read-only scenes, fast ---------------------------------------------------

Rows = list[tuple[type[Table], list[dict[str, Any]]]]


class _Copy:
    """Every row of every registry table, and the bytes of the blobs those rows name."""

    def __init__(self, rows: Rows, blobs: dict[str, bytes]) -> None:
        self.rows = rows
        self.blobs = blobs

    @classmethod
    async def take(cls) -> _Copy:
        tables = sort_table_classes(list(APP_CONFIG.table_classes))
        rows: Rows = []
        for table in tables:
            found = await table.select().order_by(table._meta.primary_key)
            if found:
                rows.append((table, found))
        named = {Evidence: Evidence.sha256, Certificate: Certificate.pdf_sha256}
        digests = {
            row[named[table]._meta.name]
            for table, found in rows
            if table in named
            for row in found
            if row[named[table]._meta.name]
        }
        store = blob_store()
        return cls(rows, {digest: await store.get(digest) for digest in sorted(digests)})

    async def write_back(self) -> None:
        """Into a database the ``db`` fixture has just emptied: the same rows (same ids, same
        token hashes, same audit chain). Serial keys, which nothing reads, are left to the
        database. A blob another test swept away in the meantime is stored again."""
        store = blob_store()
        for digest, data in self.blobs.items():
            if not await store.exists(digest):
                await store.put(data)
        async with write_transaction():
            for table, found in self.rows:
                serial = {c._meta.name for c in table._meta.columns if isinstance(c, Serial)}
                await table.insert(
                    *(table(**{k: v for k, v in row.items() if k not in serial}) for row in found)
                )


class WorldSnapshot:
    """``make_world`` once, then the same rows written back into each freshly cleaned database.

    Making the World goes through the services (a few dozen queries); writing its rows back is a
    handful of inserts in one transaction, and the matrix needs a World for hundreds of cases
    (the conftest ``world`` fixture uses one too). The copy is exact (same ids, same token
    hashes, same audit chain), so a case cannot tell it from a World made for it alone.
    """

    def __init__(self) -> None:
        self._made: tuple[World, _Copy] | None = None

    async def world(self) -> World:
        """The World, in a database the ``db`` fixture has just emptied."""
        if self._made is None:
            async with write_transaction():
                world = await make_world()
            self._made = (world, await _Copy.take())
            return world
        world, copy = self._made
        await copy.write_back()
        return world


class SceneSnapshots:
    """A scene played once per test process, on the World, then copied into each case's freshly
    cleaned database: for rows whose request only reads, so every case of the row (and every
    row with the same scene) starts from the same state without making it again. The scene
    that issues a certificate (rendering and signing a PDF) is the one this is for.

    The copy is the whole database (the World too) and the blobs its rows name, exact as in
    ``WorldSnapshot``; a case cannot tell it from a scene played for it alone, save that ids
    repeat from case to case, which only a request that changes state could notice.
    """

    def __init__(self, world: WorldSnapshot) -> None:
        self._world = world
        self._made: dict[Scene, tuple[World, Ids, _Copy]] = {}

    async def play(self, scene: Scene, client: httpx.AsyncClient) -> tuple[World, Ids]:
        """The World and the ids ``scene`` made, in a database the ``db`` fixture just emptied."""
        made = self._made.get(scene)
        if made is None:
            world = await self._world.world()
            # One commit for the whole scene: the in-process app runs in this task, so the
            # transactions its services open join this one.
            async with write_transaction():
                ids = await scene(client, world)
            self._made[scene] = (world, ids, await _Copy.take())
            return world, dict(ids)
        world, ids, copy = made
        await copy.write_back()
        return world, dict(ids)


# --- steps ----------------------------------------------------------------------------------


async def create_product(client: httpx.AsyncClient, who: Person) -> str:
    """A product of ``who``'s organisation."""
    product = _ok(
        await client.post(
            "/v1/products",
            json={"name": "Matrix", "intended_purpose": "Booking.", "profile": TIER_A_ADMIN},
            headers=who.headers,
        ),
        201,
    )
    return str(product["id"])


async def create_draft(client: httpx.AsyncClient, who: Person, *, answered: bool) -> Ids:
    """A tiny-set draft dossier of ``who``'s organisation: ``dossier``, ``etag``, ``product``."""
    await publish_tiny()
    product = await create_product(client, who)
    dossier = _ok(
        await client.post(
            "/v1/dossiers",
            json={
                "product_id": product,
                "product_version": "1.0",
                "criteria_set_key": "tiny",
                "criteria_set_version": 1,
            },
            headers=who.headers,
        ),
        201,
    )
    ids = {"product": product, "dossier": str(dossier["id"]), "etag": str(dossier["etag"])}
    if answered:
        await answer(client, who, ids["dossier"])
        ids.pop("etag")  # answering changed it
    return ids


async def answer(client: httpx.AsyncClient, who: Person, dossier: str) -> None:
    """Answer the tiny set's one question."""
    _ok(
        await client.put(
            f"/v1/dossiers/{dossier}/answers/{CODE}", json={"value": True}, headers=who.headers
        )
    )


async def upload_evidence(client: httpx.AsyncClient, who: Person, dossier: str) -> str:
    """A small PDF attached to the draft; returns the evidence id."""
    evidence = _ok(
        await client.post(
            f"/v1/dossiers/{dossier}/evidence",
            files={"file": ("case.pdf", tiny_pdf("matrix"), "application/pdf")},
            data={"document_type": DOCUMENT_TYPE, "criteria": CODE},
            headers=who.headers,
        ),
        201,
    )
    return str(evidence["id"])


async def submit(client: httpx.AsyncClient, who: Person, dossier: str) -> None:
    """Freeze the current draft and queue it."""
    _ok(await client.post(f"/v1/dossiers/{dossier}/submit", headers=who.headers))


async def claim(client: httpx.AsyncClient, who: Person, dossier: str) -> str:
    """Claim the next item, which must be ``dossier``; returns the review id."""
    review = _ok(await client.post("/v1/queue/claim", headers=who.headers))
    assert review["dossier_id"] == dossier, "scenes queue one dossier at a time"
    return str(review["id"])


async def score(client: httpx.AsyncClient, who: Person, review: str, *, passed: bool) -> None:
    """Score the tiny set's gate (a failed gate needs a rationale)."""
    body = {"gate_pass": passed, "rationale": "Checked." if passed else "No safety case."}
    _ok(await client.put(f"/v1/reviews/{review}/scores/{CODE}", json=body, headers=who.headers))


async def submit_review(
    client: httpx.AsyncClient, who: Person, review: str, recommendation: str
) -> None:
    """Finish a scored review."""
    _ok(
        await client.post(
            f"/v1/reviews/{review}/submit",
            json={"recommendation": recommendation, "summary": "Reviewed."},
            headers=who.headers,
        )
    )


# --- scenes ---------------------------------------------------------------------------------


async def tiny_published(client: httpx.AsyncClient, world: World) -> Ids:
    """The tiny criteria set, published."""
    await publish_tiny()
    return {}


async def product_of_a(client: httpx.AsyncClient, world: World) -> Ids:
    """A product of supplier A (and the tiny set, to start dossiers with)."""
    await publish_tiny()
    return {"product": await create_product(client, world.supplier_a)}


async def draft_of_a(client: httpx.AsyncClient, world: World) -> Ids:
    """A fresh, unanswered draft of supplier A, with its ETag."""
    return await create_draft(client, world.supplier_a, answered=False)


async def draft_of_b(client: httpx.AsyncClient, world: World) -> Ids:
    """A fresh, unanswered draft of supplier B."""
    return await create_draft(client, world.supplier_b, answered=False)


async def complete_draft_of_a(client: httpx.AsyncClient, world: World) -> Ids:
    """A draft of supplier A ready to submit."""
    return await create_draft(client, world.supplier_a, answered=True)


async def draft_with_evidence_of_a(client: httpx.AsyncClient, world: World) -> Ids:
    """A draft of supplier A with one evidence file."""
    ids = await create_draft(client, world.supplier_a, answered=False)
    return {**ids, "evidence": await upload_evidence(client, world.supplier_a, ids["dossier"])}


async def evidence_of_b_beside_a_draft(client: httpx.AsyncClient, world: World) -> Ids:
    """A draft of supplier A (``dossier``) and an evidence file in a draft of supplier B."""
    ids = await create_draft(client, world.supplier_a, answered=False)
    of_b = await create_draft(client, world.supplier_b, answered=False)
    return {**ids, "evidence": await upload_evidence(client, world.supplier_b, of_b["dossier"])}


async def _submitted(client: httpx.AsyncClient, world: World, *, evidence: bool) -> Ids:
    ids = await create_draft(client, world.supplier_a, answered=True)
    if evidence:
        ids["evidence"] = await upload_evidence(client, world.supplier_a, ids["dossier"])
    await submit(client, world.supplier_a, ids["dossier"])
    return ids


async def submitted_of_a(client: httpx.AsyncClient, world: World) -> Ids:
    """A submitted, unclaimed dossier of supplier A."""
    return await _submitted(client, world, evidence=False)


async def submitted_with_evidence_of_a(client: httpx.AsyncClient, world: World) -> Ids:
    """A submitted, unclaimed dossier of supplier A with one (now frozen) evidence file."""
    return await _submitted(client, world, evidence=True)


async def claimed_by_reviewer(client: httpx.AsyncClient, world: World) -> Ids:
    """Supplier A's submitted dossier under a live claim by ``reviewer``."""
    ids = await submitted_of_a(client, world)
    return {**ids, "review": await claim(client, world.reviewer, ids["dossier"])}


async def claimed_with_evidence_by_reviewer(client: httpx.AsyncClient, world: World) -> Ids:
    """Supplier A's dossier with one evidence file, under a live claim by ``reviewer``."""
    ids = await submitted_with_evidence_of_a(client, world)
    return {**ids, "review": await claim(client, world.reviewer, ids["dossier"])}


async def claimed_by_lead(client: httpx.AsyncClient, world: World) -> Ids:
    """Supplier A's submitted dossier under a live claim by ``lead`` (a lead is a reviewer)."""
    ids = await submitted_of_a(client, world)
    return {**ids, "review": await claim(client, world.lead, ids["dossier"])}


async def scored_by_reviewer(client: httpx.AsyncClient, world: World) -> Ids:
    """``reviewer``'s claim with every criterion scored, ready to submit."""
    ids = await claimed_by_reviewer(client, world)
    await score(client, world.reviewer, ids["review"], passed=True)
    return ids


async def reviewed_by_reviewer(client: httpx.AsyncClient, world: World) -> Ids:
    """Supplier A's dossier after ``reviewer`` submitted one of its two reviews (no claim now)."""
    ids = await scored_by_reviewer(client, world)
    await submit_review(client, world.reviewer, ids["review"], "approve")
    return ids


async def second_round_claimed_by_reviewer(client: httpx.AsyncClient, world: World) -> Ids:
    """Supplier A withdrew revision 1 and submitted revision 2, which ``reviewer`` claimed."""
    ids = await submitted_of_a(client, world)
    _ok(
        await client.post(
            f"/v1/dossiers/{ids['dossier']}/withdraw", headers=world.supplier_a.headers
        )
    )
    await submit(client, world.supplier_a, ids["dossier"])
    return {**ids, "review": await claim(client, world.reviewer, ids["dossier"])}


async def reviewer_conflicted_with_a(client: httpx.AsyncClient, world: World) -> Ids:
    """``reviewer`` declared a conflict with supplier A, whose dossier is waiting."""
    _ok(
        await client.post(
            "/v1/reviewers/me/interests",
            json={"organisation_ids": [world.org_a]},
            headers=world.reviewer.headers,
        )
    )
    return await submitted_of_a(client, world)


async def _in_moderation(client: httpx.AsyncClient, world: World, passed: Person) -> Ids:
    """Supplier A's dossier in moderation: ``passed`` passed the gate, ``reviewer_2`` failed it."""
    ids = await submitted_of_a(client, world)
    for who, gate, recommendation in (
        (passed, True, "approve"),
        (world.reviewer_2, False, "reject"),
    ):
        review = await claim(client, who, ids["dossier"])
        await score(client, who, review, passed=gate)
        await submit_review(client, who, review, recommendation)
    # Read from the table: the lead may not list a case they reviewed.
    case = await ModerationCase.select(ModerationCase.id).where(
        ModerationCase.dossier == uuid.UUID(ids["dossier"])
    )
    assert len(case) == 1, "the reviews disagree, so the dossier goes to moderation"
    return {**ids, "case": str(case[0]["id"])}


async def rejected_of_a(client: httpx.AsyncClient, world: World) -> Ids:
    """Supplier A's revision 1, decided: ``reviewer`` and ``reviewer_2`` both failed the gate and
    recommended rejection, and the rule agrees, so the revision is ``rejected``."""
    ids = await submitted_of_a(client, world)
    for who in (world.reviewer, world.reviewer_2):
        review = await claim(client, who, ids["dossier"])
        await score(client, who, review, passed=False)
        await submit_review(client, who, review, "reject")
    revision = await Revision.select(Revision.status).where(
        Revision.natural_key == f"{ids['dossier']}:1"
    )
    assert [r["status"] for r in revision] == ["rejected"], "both reviews and the rule reject"
    return ids


async def moderation_case(client: httpx.AsyncClient, world: World) -> Ids:
    """A moderation case of supplier A's dossier, reviewed by ``reviewer`` and ``reviewer_2``."""
    return await _in_moderation(client, world, world.reviewer)


async def moderation_case_reviewed_by_lead(client: httpx.AsyncClient, world: World) -> Ids:
    """A moderation case the lead cannot take: the lead was one of its two reviewers."""
    return await _in_moderation(client, world, world.lead)


async def signing_keys(client: httpx.AsyncClient, world: World) -> Ids:
    """A root CA and an active signing key, as trust material needs."""
    await keys.init_keys(SYSTEM)
    return {}


async def certificate_of_a(client: httpx.AsyncClient, world: World) -> Ids:
    """A certificate issued for supplier A's tiny-set dossier, which ``reviewer`` and
    ``reviewer_2`` approved (the lead neither reviewed nor moderated it); with its signed PDF
    (base64) and compact JWS, for the verification rows."""
    await keys.init_keys(SYSTEM)
    await publish_tiny()
    certificate = await approve_tiny(client, world)
    pdf = await client.get(f"/v1/certificates/{certificate}/pdf")
    assert pdf.status_code == 200, pdf.text
    statement = await client.get(f"/v1/certificates/{certificate}/statement")
    assert statement.status_code == 200, statement.text
    return {
        "certificate": certificate,
        "pdf": base64.b64encode(pdf.content).decode(),
        "statement": statement.text,
    }
