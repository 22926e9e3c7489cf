"""Conditional GETs of a certificate, its PDF and its statement (RFC 9110 §13): a strong ETag over
the bytes sent, 304 while it is current, a new ETag once the bytes change."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import httpx
import pytest

from registry.api.conditional import none_match
from registry.domain.certificate_id import check_character
from tests.tiny_set import approve_tiny, publish_tiny
from tests.world import World

pytestmark = pytest.mark.usefixtures("signing")

ETAG = '"8a1f"'


@dataclass(frozen=True)
class Header:
    name: str
    if_none_match: str | None
    matches: bool


HEADERS = [
    Header("no header", None, False),
    Header("the tag itself", '"8a1f"', True),
    Header("another tag", '"8a1e"', False),
    Header("any representation", "*", True),
    Header("any, padded", "  * ", True),
    Header("in a list", '"0000", "8a1f"', True),
    Header("in a list without spaces", '"0000","8a1f"', True),
    Header("weakly: W/ matches the strong tag", 'W/"8a1f"', True),
    Header("weakly, in a list", '"0000", W/"8a1f"', True),
    Header("a tag holding a comma is one tag", '"8a1f,0000"', False),
    Header("unquoted is not a tag", "8a1f", False),
    Header("empty", "", False),
]


@pytest.mark.parametrize("case", HEADERS, ids=lambda c: c.name)
def test_if_none_match_uses_weak_comparison(case: Header) -> None:
    assert none_match(case.if_none_match, ETAG) is case.matches


@dataclass(frozen=True)
class Resource:
    name: str
    suffix: str
    cache_control: str


RESOURCES = [
    Resource("certificate", "", "public, no-cache"),
    Resource("pdf", "/pdf", "public, max-age=31536000, immutable"),
    Resource("statement", "/statement", "public, max-age=31536000, immutable"),
]


@pytest.fixture
async def certificate_id(client: httpx.AsyncClient, world: World) -> str:
    await publish_tiny()
    return await approve_tiny(client, world)


@pytest.mark.parametrize("resource", RESOURCES, ids=lambda r: r.name)
async def test_200_then_304_while_the_etag_is_current(
    client: httpx.AsyncClient, certificate_id: str, resource: Resource
) -> None:
    url = f"/v1/certificates/{certificate_id}{resource.suffix}"
    first = await client.get(url)
    assert first.status_code == 200
    etag = first.headers["etag"]
    assert etag == f'"{hashlib.sha256(first.content).hexdigest()}"', "strong: the bytes' hash"
    assert first.headers["cache-control"] == resource.cache_control

    for sent in (etag, f'"0000", {etag}', f"W/{etag}", "*"):
        again = await client.get(url, headers={"If-None-Match": sent})
        assert again.status_code == 304, sent
        assert again.content == b""
        assert again.headers["etag"] == etag
        assert again.headers["cache-control"] == resource.cache_control
        assert "content-type" not in again.headers

    other = await client.get(url, headers={"If-None-Match": '"0000"'})
    assert other.status_code == 200
    assert other.content == first.content
    assert other.headers["etag"] == etag


async def test_the_pdf_etag_is_its_stored_digest(
    client: httpx.AsyncClient, certificate_id: str
) -> None:
    certificate = (await client.get(f"/v1/certificates/{certificate_id}")).json()
    pdf = await client.get(f"/v1/certificates/{certificate_id}/pdf")
    assert pdf.headers["etag"] == f'"{certificate["pdf_sha256"]}"'


async def test_a_status_change_makes_a_new_certificate_etag(
    client: httpx.AsyncClient, world: World, certificate_id: str
) -> None:
    base = f"/v1/certificates/{certificate_id}"
    before = {r.name: (await client.get(base + r.suffix)).headers["etag"] for r in RESOURCES}

    suspended = await client.post(
        f"{base}/status",
        json={"action": "suspend", "reason": "safety_concern", "note": "Reported incident."},
        headers=world.admin.headers,
    )
    assert suspended.status_code == 200, suspended.text

    stale = await client.get(base, headers={"If-None-Match": before["certificate"]})
    assert stale.status_code == 200, "the held copy says valid: it is no longer current"
    assert stale.json()["status"] == "suspended"
    assert stale.headers["etag"] != before["certificate"]
    assert stale.headers["etag"] == f'"{hashlib.sha256(stale.content).hexdigest()}"'
    current = await client.get(base, headers={"If-None-Match": stale.headers["etag"]})
    assert current.status_code == 304

    # The PDF and the statement are fixed at issuance: their bytes, so their ETags, stay.
    for resource in RESOURCES[1:]:
        held = before[resource.name]
        unchanged = await client.get(base + resource.suffix, headers={"If-None-Match": held})
        assert unchanged.status_code == 304, resource.name
        assert unchanged.headers["etag"] == held


async def test_an_unknown_certificate_is_404_whatever_if_none_match_says(
    client: httpx.AsyncClient, certificate_id: str
) -> None:
    unknown = f"MKR-0000-0000-{check_character('00000000')}"
    for suffix in ("", "/pdf", "/statement"):
        response = await client.get(
            f"/v1/certificates/{unknown}{suffix}", headers={"If-None-Match": "*"}
        )
        assert response.status_code == 404, response.text
        assert response.headers["content-type"].startswith("application/problem+json")
