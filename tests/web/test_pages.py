"""The practice pages in-process: the form, every kind of answer, mistakes, uploads, escaping."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

import httpx
import pytest

from registry.domain.certificate_id import ALPHABET
from tests.times import seconds
from tests.tiny_set import approve_tiny, publish_tiny
from tests.web.html import Page, parse
from tests.world import World

pytestmark = pytest.mark.usefixtures("signing")


@pytest.fixture
async def certificate_id(client: httpx.AsyncClient, world: World) -> str:
    await publish_tiny()
    return await approve_tiny(client, world, name="Booking Assistant")


async def _status(
    client: httpx.AsyncClient, world: World, certificate_id: str, action: str, note: str
) -> None:
    response = await client.post(
        f"/v1/certificates/{certificate_id}/status",
        json={"action": action, "reason": "safety_concern", "note": note},
        headers=world.admin.headers,
    )
    assert response.status_code == 200, response.text


async def _result(client: httpx.AsyncClient, certificate_id: str) -> tuple[int, Page, str]:
    response = await client.get(f"/v/{certificate_id}")
    assert response.headers["content-type"].startswith("text/html")
    return response.status_code, parse(response.text), response.text


def _mistype(certificate_id: str) -> str:
    last = certificate_id[-1]
    return certificate_id[:-1] + next(c for c in ALPHABET if c != last)


async def test_form_has_labelled_inputs(client: httpx.AsyncClient) -> None:
    response = await client.get("/v")
    assert response.status_code == 200
    page = parse(response.text)
    assert '<html lang="en-GB">' in response.text
    assert 'name="viewport"' in response.text
    by_name = {i.get("name"): i for i in page.inputs}
    assert by_name["id"]["type"] == "text"
    assert by_name["file"]["type"] == "file"
    assert "application/pdf" in by_name["file"]["accept"]
    for field in ("id", "file"):
        input_id = by_name[field]["id"]
        assert page.labels[input_id].strip(), f"the {field} input has a label"
        assert by_name[field]["aria-describedby"], "each input points at its hint"
    assert 'method="get" action="/v"' in response.text
    assert 'enctype="multipart/form-data"' in response.text
    assert "Content-Security-Policy" in response.headers
    assert "script-src 'none'" in response.headers["content-security-policy"]


async def test_form_redirects_to_the_normalised_id(
    client: httpx.AsyncClient, certificate_id: str
) -> None:
    typed = certificate_id.lower().replace("-", " ").replace("0", "o")
    response = await client.get("/v", params={"id": f"  {typed} "})
    assert response.status_code == 303
    assert response.headers["location"] == f"/v/{certificate_id}"


@dataclass(frozen=True)
class Expected:
    verdict: str
    headline: str
    why: str | None
    advice: str
    status_words: str


async def _suspend(client: httpx.AsyncClient, world: World, cid: str) -> None:
    await _status(client, world, cid, "suspend", "Reports of missed bookings are under review.")


async def _revoke(client: httpx.AsyncClient, world: World, cid: str) -> None:
    await _status(client, world, cid, "revoke", "The supplier withdrew the product.")


async def _reinstate(client: httpx.AsyncClient, world: World, cid: str) -> None:
    await _suspend(client, world, cid)
    await _status(client, world, cid, "reinstate", "The review found no fault.")


CASES = {
    "valid": (
        None,
        Expected(
            "good_to_go",
            "Good to go",
            None,
            "You can rely on it without re-running the assessment.",
            "Valid",
        ),
    ),
    "reinstated": (
        _reinstate,
        Expected("good_to_go", "Good to go", None, "You can rely on it", "Valid"),
    ),
    "suspended": (
        _suspend,
        Expected(
            "not_good_to_go",
            "Not good to go: suspended",
            "because of a safety concern",
            "Ask the supplier what is being done",
            "Suspended",
        ),
    ),
    "revoked": (
        _revoke,
        Expected(
            "not_good_to_go",
            "Not good to go: revoked",
            "because of a safety concern",
            "withdrew this certificate for good",
            "Revoked",
        ),
    ),
}


@pytest.mark.parametrize("case", list(CASES), ids=list(CASES))
async def test_result_page_says_the_verdict_reason_and_what_to_do(
    client: httpx.AsyncClient, world: World, certificate_id: str, case: str
) -> None:
    change, expected = CASES[case]
    if change is not None:
        await change(client, world, certificate_id)
    status, page, html = await _result(client, certificate_id)
    assert status == 200
    assert f'data-verdict="{expected.verdict}"' in html
    assert page.text("verdict-headline") == expected.headline
    assert page.title.startswith(expected.headline)
    why = page.text("verdict-why")
    if expected.why:
        assert expected.why in why
    else:
        assert certificate_id in why
        assert "Valid until" in why
    assert expected.advice in page.text("advice")
    assert page.text("status-today").startswith(expected.status_words)
    assert "Booking Assistant" in page.text("verdict")
    history = re.findall(r'<span class="history__what">([^<]*)</span>', html)
    assert history[0] == "Issued."
    assert "no-store" in (await client.get(f"/v/{certificate_id}")).headers["cache-control"]


async def test_suspension_shows_reason_note_and_history(
    client: httpx.AsyncClient, world: World, certificate_id: str
) -> None:
    await _reinstate(client, world, certificate_id)
    await _suspend(client, world, certificate_id)
    _, page, html = await _result(client, certificate_id)
    assert page.text("verdict-headline") == "Not good to go: suspended"
    items = re.findall(r'<span class="history__what">([^<]*)</span>', html)
    assert items == [
        "Issued.",
        "Suspended because of a safety concern.",
        "Reinstated because of a safety concern.",
        "Suspended because of a safety concern.",
    ]
    assert "Registry note: “Reports of missed bookings are under review.”" in html


async def test_superseded_points_to_the_newer_certificate(
    client: httpx.AsyncClient, world: World, certificate_id: str
) -> None:
    from registry.tables import Product

    product = await Product.select(Product.id).first()
    assert product is not None
    h = world.supplier_a.headers
    dossier = await client.post(
        "/v1/dossiers",
        json={
            "product_id": str(product["id"]),
            "product_version": "2.0",
            "criteria_set_key": "tiny",
            "criteria_set_version": 1,
        },
        headers=h,
    )
    dossier_id = dossier.json()["id"]
    await client.put(f"/v1/dossiers/{dossier_id}/answers/C1.1", json={"value": True}, headers=h)
    assert (await client.post(f"/v1/dossiers/{dossier_id}/submit", headers=h)).status_code == 200
    for reviewer in (world.reviewer, world.reviewer_2):
        review = (await client.post("/v1/queue/claim", headers=reviewer.headers)).json()
        await client.put(
            f"/v1/reviews/{review['id']}/scores/C1.1",
            json={"gate_pass": True},
            headers=reviewer.headers,
        )
        await client.post(
            f"/v1/reviews/{review['id']}/submit",
            json={"recommendation": "approve", "summary": "ok"},
            headers=reviewer.headers,
        )
    revisions = (await client.get(f"/v1/dossiers/{dossier_id}/revisions", headers=h)).json()
    successor = revisions["items"][0]["certificate_id"]

    _, page, html = await _result(client, certificate_id)
    assert page.text("verdict-headline") == "Not good to go: replaced by a newer certificate"
    assert successor in page.text("verdict-why")
    assert f'href="/v/{successor}"' in html
    assert f"Check the newer certificate {successor}" in page.text("todo-heading") + html

    _, newer, _ = await _result(client, successor)
    assert newer.text("verdict-headline") == "Good to go"


async def test_expired_says_so(
    client: httpx.AsyncClient, certificate_id: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    shown = (await client.get(f"/v1/certificates/{certificate_id}")).json()["valid_until"]
    valid_until = seconds(shown)
    monkeypatch.setattr("registry.clock.now", lambda: valid_until + 1)
    _, page, html = await _result(client, certificate_id)
    assert page.text("verdict-headline") == "Not good to go: expired"
    day = dt.datetime.fromtimestamp(valid_until, dt.UTC)
    assert page.text("verdict-why") == f"Expired on {day.day} {day:%B %Y}."
    assert f'<time datetime="{day:%Y-%m-%d}">' in html
    assert "Ask the supplier for a reassessment" in page.text("advice")
    assert "(this date has passed)" in html
    history = re.findall(r'<span class="history__what">([^<]*)</span>', html)
    assert history == ["Issued.", "Expired."], "expiry is shown though it is never stored"


async def test_mistyped_id_is_a_422_page_saying_so(
    client: httpx.AsyncClient, certificate_id: str
) -> None:
    mistyped = _mistype(certificate_id)
    response = await client.get(f"/v/{mistyped}")
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("text/html")
    page = parse(response.text)
    assert page.title.startswith("Error: This ID looks mistyped")
    assert "looks mistyped" in page.text("certificate-id-error")
    assert f"One character of {mistyped} does not match the others" in page.text("lead")
    assert "did not look it up" in page.text("lead")
    id_input = next(i for i in page.inputs if i.get("name") == "id")
    assert id_input["value"] == mistyped, "the typed ID is kept so it can be corrected"
    assert id_input["aria-invalid"] == "true"

    from_form = await client.get("/v", params={"id": "MKR-UUUU-UUUU-U"})
    assert from_form.status_code == 422
    assert "looks mistyped" in parse(from_form.text).text("certificate-id-error")

    empty = await client.get("/v", params={"id": "  "})
    assert empty.status_code == 422
    assert "Enter the certificate ID" in empty.text


async def test_odd_input_in_the_form_is_answered_not_redirected(client: httpx.AsyncClient) -> None:
    response = await client.get("/v", params={"id": "../../etc/passwd?x=#y"})
    assert response.status_code == 422
    assert "location" not in response.headers
    assert "looks mistyped" in response.text


async def test_unknown_id_is_not_good_to_go(client: httpx.AsyncClient) -> None:
    from registry.domain.certificate_id import new_certificate_id

    unknown = new_certificate_id()
    status, page, html = await _result(client, unknown)
    assert status == 200
    assert 'data-verdict="not_good_to_go"' in html
    assert page.text("verdict-headline") == "Not good to go: not issued by the registry"
    assert unknown in page.text("verdict-why")
    assert "report it to the registry" in page.text("advice")
    assert "certificate-heading" not in page.text_by_id, "no certificate facts to show"


async def test_pdf_upload_shows_the_verdict(client: httpx.AsyncClient, certificate_id: str) -> None:
    pdf = (await client.get(f"/v1/certificates/{certificate_id}/pdf")).content
    response = await client.post(
        "/v", files={"file": ("certificate <1>.pdf", pdf, "application/pdf")}
    )
    assert response.status_code == 200, response.text
    page = parse(response.text)
    assert page.text("verdict-headline") == "Good to go"
    assert "certificate &lt;1&gt;.pdf" in response.text
    checks = re.findall(r'<p class="check__title">(.*?)</p>', response.text, re.S)
    assert len(checks) == 9
    assert all("Passed" in c or "Not checked" in c for c in checks)
    assert any("The PDF was not changed after signing" in c for c in checks)
    assert not page.scripts, "the paper-copy script is for QR landings only"

    tampered = pdf + b"\n% appended after signing\n"
    changed = await client.post("/v", files={"file": ("c.pdf", tampered, "application/pdf")})
    assert changed.status_code == 200
    assert parse(changed.text).text("verdict-headline").startswith("Not good to go")


async def test_upload_mistakes_are_explained(client: httpx.AsyncClient) -> None:
    not_pdf = await client.post("/v", files={"file": ("photo.jpg", b"\xff\xd8\xff\xe0JFIF", "")})
    assert not_pdf.status_code == 415
    assert "photo.jpg is not a PDF" in parse(not_pdf.text).text("certificate-pdf-error")

    nothing = await client.post("/v", files={"file": ("", b"", "application/octet-stream")})
    assert nothing.status_code == 422
    assert "Choose the certificate PDF" in nothing.text

    garbage = await client.post("/v", files={"file": ("x.pdf", b"%PDF-1.7 nonsense", "")})
    assert garbage.status_code == 200
    assert parse(garbage.text).text("verdict-headline").startswith("Not good to go")


async def test_oversized_upload_is_refused_with_a_page(client: httpx.AsyncClient) -> None:
    from registry.services.verification import MAX_PDF_BYTES

    big = b"%PDF-1.7\n" + b"0" * (MAX_PDF_BYTES + 128 * 1024)
    response = await client.post("/v", files={"file": ("big.pdf", big, "application/pdf")})
    assert response.status_code == 413
    assert response.headers["content-type"].startswith("text/html")
    assert "too large" in response.text


async def test_supplier_text_is_escaped(client: httpx.AsyncClient, world: World) -> None:
    await publish_tiny()
    hostile = "<script>alert('x')</script> & <b>Bold</b>"
    certificate_id = await approve_tiny(client, world, name=hostile)
    await _status(client, world, certificate_id, "suspend", "<img src=x onerror=alert(1)>")
    _, page, html = await _result(client, certificate_id)
    assert "<script>alert" not in html
    assert "<b>Bold</b>" not in html
    assert "<img src=x" not in html
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &lt;b&gt;Bold&lt;/b&gt;" in html
    assert hostile in page.text("verdict"), "shown literally"
    assert len(page.scripts) == 1, "only our own script"


async def test_pages_stay_out_of_the_api_document(client: httpx.AsyncClient) -> None:
    schema = (await client.get("/schema/openapi.json")).json()
    assert not [path for path in schema["paths"] if path == "/v" or path.startswith("/v/")]


async def test_inline_code_is_pinned_by_the_content_security_policy(
    client: httpx.AsyncClient, certificate_id: str
) -> None:
    import base64
    import hashlib

    def source(code: str) -> str:
        digest = hashlib.sha256(code.encode("utf-8")).digest()
        return f"'sha256-{base64.b64encode(digest).decode('ascii')}'"

    response = await client.get(f"/v/{certificate_id}")
    policy = response.headers["content-security-policy"]
    page = parse(response.text)
    assert len(page.scripts) == 1
    assert f"script-src {source(page.scripts[0])};" in policy
    style = re.search(r"<style>(.*?)</style>", response.text, re.S)
    assert style is not None
    assert f"style-src {source(style.group(1))};" in policy
    assert "connect-src 'self'" in policy, "the paper-copy check may call the registry only"
    assert "frame-ancestors 'none'" in policy


async def test_too_many_requests_is_a_page(db: None) -> None:
    import msgspec

    from registry.app import create_app
    from registry.settings import get_settings

    app = create_app(msgspec.structs.replace(get_settings(), public_rate_per_minute=2))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://registry.test") as http:
        statuses = [(await http.get("/v")).status_code for _ in range(2)]
        limited = await http.get("/v")
    assert statuses == [200, 200]
    assert limited.status_code == 429
    assert limited.headers["content-type"].startswith("text/html")
    assert limited.headers["retry-after"]
    assert "Too many checks from your network" in limited.text
