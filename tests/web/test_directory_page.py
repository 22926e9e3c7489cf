"""The directory page in-process: search, filters, statuses with reasons, paging, escaping."""

from __future__ import annotations

import re

import httpx
import pytest

from tests.tiny_set import approve_tiny, publish_tiny
from tests.web.html import parse
from tests.world import World

pytestmark = pytest.mark.usefixtures("signing")


@pytest.fixture
async def listed(client: httpx.AsyncClient, world: World) -> dict[str, str]:
    await publish_tiny()
    good = await approve_tiny(client, world, name="Booking Assistant")
    suspended = await approve_tiny(client, world, name="Repeat Prescriptions")
    changed = await client.post(
        f"/v1/certificates/{suspended}/status",
        json={"action": "suspend", "reason": "safety_concern", "note": "Under <b>review</b>."},
        headers=world.admin.headers,
    )
    assert changed.status_code == 200, changed.text
    return {"good": good, "suspended": suspended}


def _results(html: str) -> list[dict[str, str]]:
    """Each listed entry: its status, product heading and the text of the entry."""
    found = []
    for status, body in re.findall(
        r'<li class="result" data-status="([^"]+)">(.*?)</li>', html, re.S
    ):
        heading = re.search(r"<h3><a href=\"/v/([^\"]+)\">(.*?)</a></h3>", body, re.S)
        assert heading is not None
        found.append(
            {
                "status": status,
                "id": heading.group(1),
                "product": heading.group(2),
                "text": " ".join(re.sub(r"<[^>]+>", " ", body).split()),
            }
        )
    return found


async def test_directory_lists_every_status_with_reasons(
    client: httpx.AsyncClient, listed: dict[str, str]
) -> None:
    response = await client.get("/directory")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    results = {r["id"]: r for r in _results(response.text)}
    assert set(results) == set(listed.values())
    good, suspended = results[listed["good"]], results[listed["suspended"]]
    assert good["product"] == "Booking Assistant 1.0"
    assert "Good to go" in good["text"]
    assert "Not good to go" not in good["text"]
    assert "Not good to go: suspended" in suspended["text"]
    assert "because of a safety concern" in suspended["text"]
    assert "Registry note: “Under &lt;b&gt;review&lt;/b&gt;.”" in suspended["text"]
    assert "by Supplier A" in suspended["text"]


async def test_search_box_and_filters_are_labelled_and_kept(
    client: httpx.AsyncClient, listed: dict[str, str]
) -> None:
    response = await client.get("/directory", params={"q": "repeat", "status": "", "tier": ""})
    page = parse(response.text)
    for input_id in ("q", "status", "tier", "supplier", "criteria-set"):
        assert page.labels[input_id].strip(), f"{input_id} has a label"
    search = next(i for i in page.inputs if i.get("name") == "q")
    assert search["value"] == "repeat"
    assert [r["id"] for r in _results(response.text)] == [listed["suspended"]]
    assert 'role="search"' in response.text

    by_status = await client.get("/directory", params={"status": "valid"})
    assert [r["id"] for r in _results(by_status.text)] == [listed["good"]]
    assert '<option value="valid" selected>' in by_status.text

    by_supplier = await client.get("/directory", params={"supplier": "nobody ltd"})
    assert _results(by_supplier.text) == []
    assert "No assessed product matches this search" in by_supplier.text
    assert "has not been assessed by the registry" in by_supplier.text


async def test_pages_follow_the_cursor_keeping_filters(
    client: httpx.AsyncClient, listed: dict[str, str]
) -> None:
    first = await client.get("/directory", params={"limit": 1, "tier": "A"})
    assert len(_results(first.text)) == 1
    next_link = re.search(r'<a href="([^"]+)" rel="next">Next page</a>', first.text)
    assert next_link is not None
    url = next_link.group(1).replace("&amp;", "&")
    assert "tier=A" in url
    assert "limit=1" in url
    second = await client.get(url)
    assert second.status_code == 200
    seen = {r["id"] for r in _results(first.text) + _results(second.text)}
    assert seen == set(listed.values())
    assert 'rel="next"' not in second.text
    assert "First page" in second.text


async def test_bad_parameters_are_pages_not_crashes(client: httpx.AsyncClient) -> None:
    bad_status = await client.get("/directory", params={"status": "fine"})
    assert bad_status.status_code == 400
    assert bad_status.headers["content-type"].startswith("text/html")
    bad_cursor = await client.get("/directory", params={"cursor": "not-a-cursor"})
    assert bad_cursor.status_code == 422
    assert bad_cursor.headers["content-type"].startswith("text/html")


async def test_directory_escapes_supplier_text(client: httpx.AsyncClient, world: World) -> None:
    await publish_tiny()
    await approve_tiny(client, world, name="<script>alert(1)</script>")
    response = await client.get("/directory", params={"q": "<script>"})
    assert "<script>alert(1)" not in response.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in response.text
    assert len(_results(response.text)) == 1
    assert "script-src 'none'" in response.headers["content-security-policy"]
