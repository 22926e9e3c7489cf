"""Publishing criteria sets: admin only, validated, immutable per version, idempotent."""

from __future__ import annotations

import logging

import httpx
import msgspec
import pytest

from registry.domain.canonical import canonical_digest
from registry.services.criteria import builtin_document
from tests.world import World


def document(**changes: object) -> dict[str, object]:
    """The built-in set as a plain document, with top-level changes."""
    value = msgspec.to_builtins(builtin_document())
    value.update(changes)
    return value


async def test_publish_is_idempotent_and_immutable(client: httpx.AsyncClient, world: World) -> None:
    h = world.admin.headers
    first = await client.post("/v1/criteria-sets", json=document(), headers=h)
    assert first.status_code == 201
    body = first.json()
    assert body["sha256"] == canonical_digest(msgspec.to_builtins(builtin_document()))
    again = await client.post("/v1/criteria-sets", json=document(), headers=h)
    assert again.status_code == 200
    assert again.json()["sha256"] == body["sha256"]
    changed = await client.post(
        "/v1/criteria-sets", json=document(title="Another title"), headers=h
    )
    assert changed.status_code == 409
    assert "new version" in changed.json()["detail"]
    second = await client.post(
        "/v1/criteria-sets", json=document(version=2, title="Another title"), headers=h
    )
    assert second.status_code == 201
    listed = (await client.get("/v1/criteria-sets")).json()["items"]
    assert [(i["key"], i["version"]) for i in listed] == [
        ("kitemark-core", 1),
        ("kitemark-core", 2),
    ]
    public = await client.get("/v1/criteria-sets/kitemark-core/1")
    assert public.status_code == 200
    assert public.json()["document"]["title"] == builtin_document().title
    assert (await client.get("/v1/criteria-sets/kitemark-core/9")).status_code == 404


async def test_publishing_needs_an_admin(client: httpx.AsyncClient, world: World) -> None:
    assert (await client.post("/v1/criteria-sets", json=document())).status_code == 401
    forbidden = await client.post(
        "/v1/criteria-sets", json=document(), headers=world.reviewer.headers
    )
    assert forbidden.status_code == 403


async def test_an_invalid_document_is_refused_naming_where(
    client: httpx.AsyncClient, world: World
) -> None:
    bad = document()
    bad["sections"][0]["criteria"][1]["code"] = bad["sections"][0]["criteria"][0]["code"]  # type: ignore[index]
    response = await client.post("/v1/criteria-sets", json=bad, headers=world.admin.headers)
    assert response.status_code == 422
    assert response.json()["field"].startswith("sections[0].criteria[1]")
    floats = document()
    floats["sections"][3]["criteria"][0]["weight"] = 1.5  # type: ignore[index]
    assert (
        await client.post("/v1/criteria-sets", json=floats, headers=world.admin.headers)
    ).status_code == 400


async def test_denied_requests_are_logged(
    client: httpx.AsyncClient, world: World, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="registry.security"):
        await client.post("/v1/criteria-sets", json=document(), headers=world.supplier_a.headers)
        await client.get("/v1/audit")
        await client.get(f"/v1/organisations/{world.org_b}", headers=world.supplier_a.headers)
    denied = [r.getMessage() for r in caplog.records if r.name == "registry.security"]
    assert any("-> 403" in m for m in denied)
    assert any("-> 401" in m for m in denied)
    assert any("-> 404" in m for m in denied)
    assert all(world.supplier_a.token not in m for m in denied), "never a token in a log line"
