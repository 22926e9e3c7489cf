"""Supplier dossiers over HTTP: from an empty dossier to a frozen, submitted revision."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from registry.services.audit import SYSTEM
from registry.services.criteria import builtin_document, publish
from tests.supplier_flow import (
    TIER_A_ADMIN,
    TIER_C_DEVICE,
    complete_dossier,
    new_dossier,
    tiny_pdf,
    upload,
)
from tests.world import World


@pytest.fixture
async def published(world: World) -> None:
    await publish(SYSTEM, builtin_document())


pytestmark = pytest.mark.usefixtures("published")


async def test_a_supplier_takes_a_dossier_to_a_frozen_submission(
    client: httpx.AsyncClient, world: World
) -> None:
    h = world.supplier_a.headers
    dossier = await new_dossier(client, h, TIER_C_DEVICE)
    assert dossier["status"] == "draft"
    before = (await client.get(f"/v1/dossiers/{dossier['id']}/completeness", headers=h)).json()
    assert not before["complete"]
    assert before["answered"] == 0

    early = await client.post(f"/v1/dossiers/{dossier['id']}/submit", headers=h)
    assert early.status_code == 422
    assert early.headers["content-type"].startswith("application/problem+json")
    assert early.json()["completeness"]["gaps"], "the 422 carries the completeness report"

    criteria = await complete_dossier(client, h, dossier, TIER_C_DEVICE)
    report = (await client.get(f"/v1/dossiers/{dossier['id']}/completeness", headers=h)).json()
    assert report == {
        "complete": True,
        "applicable_criteria": len(criteria),
        "answered": len(criteria),
        "gaps": [],
    }

    submitted = await client.post(f"/v1/dossiers/{dossier['id']}/submit", headers=h)
    assert submitted.status_code == 200, submitted.text
    revision = submitted.json()
    assert revision["status"] == "submitted"
    assert len(revision["digest"]) == 64

    # Frozen: no answer, evidence, deletion or edit reaches a submitted revision.
    code = criteria[0].code
    assert (
        await client.put(
            f"/v1/dossiers/{dossier['id']}/answers/{code}", json={"value": True}, headers=h
        )
    ).status_code == 409
    current = (await client.get(f"/v1/dossiers/{dossier['id']}", headers=h)).json()
    evidence_id = current["evidence"][0]["id"]
    assert (
        await client.delete(f"/v1/dossiers/{dossier['id']}/evidence/{evidence_id}", headers=h)
    ).status_code == 409
    assert (
        await upload(client, h, dossier["id"], "other", [code], tiny_pdf("late"))
    ).status_code == 409
    patched = await client.patch(
        f"/v1/dossiers/{dossier['id']}",
        json={"summary": "late"},
        headers={**h, "If-Match": current["etag"]},
    )
    assert patched.status_code == 409
    again = await client.post(f"/v1/dossiers/{dossier['id']}/submit", headers=h)
    assert again.status_code == 409

    # An admin can read the submitted revision; the other supplier cannot know it exists.
    assert (
        await client.get(f"/v1/dossiers/{dossier['id']}", headers=world.admin.headers)
    ).status_code == 200
    assert (
        await client.get(f"/v1/dossiers/{dossier['id']}", headers=world.supplier_b.headers)
    ).status_code == 404


async def test_digest_is_the_hash_of_the_frozen_content(
    client: httpx.AsyncClient, world: World
) -> None:
    from registry.domain.canonical import canonical_digest
    from registry.tables import Revision

    h = world.supplier_a.headers
    dossier = await new_dossier(client, h, TIER_A_ADMIN)
    await complete_dossier(client, h, dossier, TIER_A_ADMIN)
    revision = (await client.post(f"/v1/dossiers/{dossier['id']}/submit", headers=h)).json()
    row = (
        await Revision.select(Revision.frozen).where(Revision.digest == revision["digest"]).first()
    )
    assert row is not None
    import msgspec

    frozen = msgspec.json.decode(row["frozen"])
    assert canonical_digest(frozen) == revision["digest"]
    assert frozen["criteria_set"]["key"] == "kitemark-core"
    assert all(len(e["sha256"]) == 64 for e in frozen["evidence"])


async def test_withdraw_starts_a_draft_copy_and_diff_shows_changes(
    client: httpx.AsyncClient, world: World
) -> None:
    h = world.supplier_a.headers
    dossier = await new_dossier(client, h, TIER_A_ADMIN)
    criteria = await complete_dossier(client, h, dossier, TIER_A_ADMIN)
    assert (await client.post(f"/v1/dossiers/{dossier['id']}/submit", headers=h)).status_code == 200

    withdrawn = await client.post(f"/v1/dossiers/{dossier['id']}/withdraw", headers=h)
    assert withdrawn.status_code == 200, withdrawn.text
    body = withdrawn.json()
    assert body["revision"] == 2
    assert body["status"] == "draft"
    assert len(body["answers"]) == len(criteria), "answers are copied into the new draft"
    again = await client.post(f"/v1/dossiers/{dossier['id']}/withdraw", headers=h)
    assert again.status_code == 409, "a draft cannot be withdrawn"

    text_criterion = next(c for c in criteria if c.response_type == "text")
    changed = await client.put(
        f"/v1/dossiers/{dossier['id']}/answers/{text_criterion.code}",
        json={"value": "Rewritten after feedback."},
        headers=h,
    )
    assert changed.status_code == 200
    extra = await upload(client, h, dossier["id"], "other", [text_criterion.code], tiny_pdf("new"))
    assert extra.status_code == 201

    revisions = (await client.get(f"/v1/dossiers/{dossier['id']}/revisions", headers=h)).json()
    assert [(r["number"], r["status"]) for r in revisions["items"]] == [
        (1, "withdrawn"),
        (2, "draft"),
    ]
    diff = (await client.get(f"/v1/dossiers/{dossier['id']}/revisions/2/diff", headers=h)).json()
    assert diff["base"] == 1
    assert [a["code"] for a in diff["answers"]] == [text_criterion.code]
    assert diff["answers"][0]["after"] == "Rewritten after feedback."
    assert [e["document_type"] for e in diff["evidence_added"]] == ["other"]
    assert diff["evidence_removed"] == []
    assert (
        await client.get(f"/v1/dossiers/{dossier['id']}/revisions/1/diff", headers=h)
    ).status_code == 404


async def test_patch_needs_the_current_etag(client: httpx.AsyncClient, world: World) -> None:
    h = world.supplier_a.headers
    dossier = await new_dossier(client, h, TIER_A_ADMIN)
    url = f"/v1/dossiers/{dossier['id']}"
    missing = await client.patch(url, json={"summary": "x"}, headers=h)
    assert missing.status_code == 428
    stale = await client.patch(url, json={"summary": "x"}, headers={**h, "If-Match": '"stale"'})
    assert stale.status_code == 412
    etag = (await client.get(url, headers=h)).headers["etag"]
    ok = await client.patch(url, json={"summary": "New summary"}, headers={**h, "If-Match": etag})
    assert ok.status_code == 200
    assert ok.json()["summary"] == "New summary"
    assert ok.headers["etag"] != etag
    replay = await client.patch(url, json={"summary": "again"}, headers={**h, "If-Match": etag})
    assert replay.status_code == 412, "the old ETag is stale after a change"
    # An answer changes the dossier too, so it also moves the ETag on.
    etag = ok.headers["etag"]
    await client.put(f"{url}/answers/C3.1", json={"value": True}, headers=h)
    assert (
        await client.patch(url, json={"summary": "y"}, headers={**h, "If-Match": etag})
    ).status_code == 412


async def test_answers_are_checked_against_type_and_applicability(
    client: httpx.AsyncClient, world: World
) -> None:
    h = world.supplier_a.headers
    dossier = await new_dossier(client, h, TIER_A_ADMIN)
    url = f"/v1/dossiers/{dossier['id']}/answers"
    not_applicable = await client.put(f"{url}/C1.4", json={"value": True}, headers=h)
    # C1.4 (tier A medical devices) does not apply to a tier A product that is not a device.
    assert not_applicable.status_code == 422
    assert "does not apply" in not_applicable.json()["detail"]
    unknown = await client.put(f"{url}/Z9.9", json={"value": True}, headers=h)
    assert unknown.status_code == 404
    wrong_type = await client.put(f"{url}/C3.1", json={"value": "maybe"}, headers=h)
    assert wrong_type.status_code == 422
    assert wrong_type.json()["field"] == "value"
    cleared = await client.put(f"{url}/C3.1", json={"value": None}, headers=h)
    assert cleared.status_code == 204


@pytest.mark.parametrize(
    ("name", "content", "status"),
    [
        ("report.pdf", b"this is not a pdf at all\x00\x01", 415),
        ("report.pdf", b"MZ\x90\x00\x03executable", 415),
        ("photo.png", b"\x89PNG\r\n\x1a\n" + b"\x00" * 20, 201),
        ("scan.jpg", b"\xff\xd8\xff\xe0" + b"\x00" * 20, 201),
        ("notes.txt", "Plain notes, café.\n".encode(), 201),
        ("data.json", b'{"a": 1}', 201),
        ("rows.csv", b"a,b\n1,2\n", 201),
        ("empty.pdf", b"", 415),
    ],
)
async def test_upload_type_is_sniffed_from_bytes(
    client: httpx.AsyncClient, world: World, name: str, content: bytes, status: int
) -> None:
    h = world.supplier_a.headers
    dossier = await new_dossier(client, h, TIER_A_ADMIN)
    response = await upload(client, h, dossier["id"], "other", ["C3.1"], content, filename=name)
    assert response.status_code == status, response.text


async def test_upload_limits(
    client: httpx.AsyncClient, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    import msgspec

    from registry.services import evidence
    from registry.settings import get_settings

    small = msgspec.structs.replace(
        get_settings(), evidence_max_file_bytes=2000, evidence_max_dossier_bytes=3000
    )
    monkeypatch.setattr(evidence, "get_settings", lambda: small)
    h = world.supplier_a.headers
    dossier = await new_dossier(client, h, TIER_A_ADMIN)
    big = await upload(client, h, dossier["id"], "other", ["C3.1"], tiny_pdf("x" * 2100))
    assert big.status_code == 413
    first = await upload(client, h, dossier["id"], "other", ["C3.1"], tiny_pdf("a" * 1500))
    assert first.status_code == 201
    second = await upload(client, h, dossier["id"], "other", ["C3.1"], tiny_pdf("b" * 1500))
    assert second.status_code == 413, "the dossier total would pass its limit"
    listed = (await client.get(f"/v1/dossiers/{dossier['id']}", headers=h)).json()["evidence"]
    assert len(listed) == 1, "a refused upload leaves nothing behind"


async def test_download_returns_exact_bytes_and_digest(
    client: httpx.AsyncClient, world: World
) -> None:
    import hashlib

    h = world.supplier_a.headers
    dossier = await new_dossier(client, h, TIER_A_ADMIN)
    content = tiny_pdf("exact bytes")
    created = (
        await upload(
            client, h, dossier["id"], "other", ["C3.1"], content, filename="../../etc/passwd"
        )
    ).json()
    assert created["label"] == "../../etc/passwd", "kept as a label"
    got = await client.get(f"/v1/dossiers/{dossier['id']}/evidence/{created['id']}", headers=h)
    assert got.status_code == 200
    assert got.content == content
    assert (
        got.headers["x-content-sha256"] == hashlib.sha256(content).hexdigest() == created["sha256"]
    )
    assert "/" not in got.headers["content-disposition"].split("filename=")[1]
    foreign = await client.get(
        f"/v1/dossiers/{dossier['id']}/evidence/{created['id']}", headers=world.supplier_b.headers
    )
    assert foreign.status_code == 404
    deleted = await client.delete(
        f"/v1/dossiers/{dossier['id']}/evidence/{created['id']}", headers=h
    )
    assert deleted.status_code == 204
    gone = await client.get(f"/v1/dossiers/{dossier['id']}/evidence/{created['id']}", headers=h)
    assert gone.status_code == 404


async def test_expiry_is_required_where_the_criterion_says(
    client: httpx.AsyncClient, world: World
) -> None:
    import msgspec

    from registry.domain.criteria import applicable_criteria
    from schemas.criteria import ProductProfile

    h = world.supplier_a.headers
    dossier = await new_dossier(client, h, TIER_C_DEVICE)
    document = builtin_document()
    criterion = next(
        c
        for c in applicable_criteria(document, msgspec.convert(TIER_C_DEVICE, ProductProfile))
        if c.evidence.expiry_required
    )
    response = await upload(
        client, h, dossier["id"], criterion.evidence.document_types[0], [criterion.code], tiny_pdf()
    )
    assert response.status_code == 422
    assert response.json()["field"] == "expires_on"


async def test_products_are_scoped_to_their_organisation(
    client: httpx.AsyncClient, world: World
) -> None:
    dossier: dict[str, Any] = await new_dossier(client, world.supplier_a.headers, TIER_A_ADMIN)
    mine = (await client.get("/v1/products", headers=world.supplier_a.headers)).json()["items"]
    theirs = (await client.get("/v1/products", headers=world.supplier_b.headers)).json()["items"]
    assert [p["id"] for p in mine] == [dossier["product_id"]]
    assert theirs == []
    assert (
        await client.get(f"/v1/products/{dossier['product_id']}", headers=world.supplier_b.headers)
    ).status_code == 404
    other = await client.post(
        "/v1/dossiers",
        json={"product_id": dossier["product_id"], "product_version": "1"},
        headers=world.supplier_b.headers,
    )
    assert other.status_code == 404, "B cannot open a dossier on A's product"
    listed = (await client.get("/v1/dossiers", headers=world.supplier_b.headers)).json()["items"]
    assert listed == []
