"""Verification over HTTP: by ID, statement or QR text, and PDF — honest about every check."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import httpx
import msgspec
import pytest

from registry.app import create_app
from registry.settings import get_settings
from tests.times import seconds
from tests.tiny_set import approve_tiny, publish_tiny
from tests.world import World

pytestmark = pytest.mark.usefixtures("signing")


@pytest.fixture
async def certificate_id(client: httpx.AsyncClient, world: World) -> str:
    await publish_tiny()
    return await approve_tiny(client, world)


def outcomes(body: dict[str, Any]) -> dict[str, str]:
    return {c["name"]: c["outcome"] for c in body["checks"]}


async def test_by_id_good_to_go(client: httpx.AsyncClient, certificate_id: str) -> None:
    before = int(time.time())
    body = (await client.get(f"/v1/verify/{certificate_id.lower().replace('-', '')}")).json()
    assert body["verdict"] == "good_to_go"
    assert [c["number"] for c in body["checks"]] == [1, 2, 3, 6, 7, 8, 9]
    assert outcomes(body)["in_log"] == "not_checked"
    assert body["certificate"]["product_name"] == "Booking"
    assert before <= seconds(body["checked_at"]) <= time.time()
    record = (await client.get(f"/v1/certificates/{certificate_id}")).json()
    assert body["certificate"]["issued_at"] == record["issued_at"]
    assert body["certificate"]["valid_until"] == record["valid_until"]


async def test_mistyped_id_is_422_before_lookup(
    client: httpx.AsyncClient, certificate_id: str
) -> None:
    last = certificate_id[-1]
    wrong = certificate_id[:-1] + ("Z" if last != "Z" else "Y")
    response = await client.get(f"/v1/verify/{wrong}")
    assert response.status_code == 422
    assert "mistyped" in response.json()["detail"]


async def test_unknown_id_is_not_good_to_go(client: httpx.AsyncClient, certificate_id: str) -> None:
    from registry.domain.certificate_id import new_certificate_id

    body = (await client.get(f"/v1/verify/{new_certificate_id()}")).json()
    assert body["verdict"] == "not_good_to_go"
    assert outcomes(body)["registered"] == "failed"


@dataclass(frozen=True)
class StatusCase:
    name: str
    action: str | None
    expire: bool
    headline: str


STATUS_CASES = [
    StatusCase("valid", None, False, "Good to go"),
    StatusCase("suspended", "suspend", False, "Not good to go: suspended"),
    StatusCase("revoked", "revoke", False, "Not good to go: revoked"),
    StatusCase("expired", None, True, "Not good to go: expired"),
]


@pytest.mark.parametrize("case", STATUS_CASES, ids=lambda c: c.name)
async def test_every_status_reads_the_same_by_id_statement_and_pdf(
    client: httpx.AsyncClient,
    world: World,
    certificate_id: str,
    monkeypatch: pytest.MonkeyPatch,
    case: StatusCase,
) -> None:
    if case.action:
        changed = await client.post(
            f"/v1/certificates/{certificate_id}/status",
            json={
                "action": case.action,
                "reason": "safety_concern",
                "note": "Incident under review.",
            },
            headers=world.admin.headers,
        )
        assert changed.status_code == 200
    if case.expire:
        shown = (await client.get(f"/v1/certificates/{certificate_id}")).json()["valid_until"]
        valid_until = seconds(shown)
        monkeypatch.setattr("registry.clock.now", lambda: valid_until + 1)
    token = (await client.get(f"/v1/certificates/{certificate_id}/statement")).text
    pdf = (await client.get(f"/v1/certificates/{certificate_id}/pdf")).content
    answers = [
        (await client.get(f"/v1/verify/{certificate_id}")).json(),
        (
            await client.post(
                "/v1/verify/statement",
                json={"text": f"{get_settings().base_url}/v/{certificate_id}#{token}"},
            )
        ).json(),
        (
            await client.post("/v1/verify/pdf", files={"file": ("c.pdf", pdf, "application/pdf")})
        ).json(),
    ]
    expected = "good_to_go" if case.name == "valid" else "not_good_to_go"
    for body in answers:
        assert body["verdict"] == expected, body
        assert body["headline"] == case.headline
        if case.action:
            status = next(c for c in body["checks"] if c["name"] == "status")
            assert "safety concern" in status["explanation"]
            assert "Incident under review" in status["explanation"]
    pdf_checks = outcomes(answers[2])
    assert [c["number"] for c in answers[2]["checks"]] == [1, 2, 3, 4, 5, 6, 7, 8, 9]
    assert pdf_checks["document_unmodified"] == "passed"
    assert pdf_checks["statement_matches"] == "passed"


async def test_tampered_pdfs_are_never_accepted(
    client: httpx.AsyncClient, certificate_id: str
) -> None:
    pdf = (await client.get(f"/v1/certificates/{certificate_id}/pdf")).content
    middle = len(pdf) // 2
    corpus = {
        "bytes appended": pdf + b"\n% appended after signing\n",
        "a byte flipped": pdf[:middle] + bytes([pdf[middle] ^ 0x01]) + pdf[middle + 1 :],
        "truncated": pdf[: len(pdf) - 200],
        "not a pdf": b"hello",
        "empty": b"",
    }
    for name, data in corpus.items():
        body = (
            await client.post("/v1/verify/pdf", files={"file": ("c.pdf", data, "application/pdf")})
        ).json()
        assert body["verdict"] == "not_good_to_go", (name, body)


async def test_forged_statements_are_never_accepted(
    client: httpx.AsyncClient, certificate_id: str, tmp_path: Any
) -> None:
    from registry.signing.jws import sign_statement
    from registry.signing.keys import KeyFiles, create_root_ca, create_signing_key

    token = (await client.get(f"/v1/certificates/{certificate_id}/statement")).text
    header, payload, signature = token.split(".")
    claims = msgspec.json.decode(
        __import__("base64").urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
    )
    # A key from another root, signing perfectly shaped claims.
    files = KeyFiles(tmp_path / "keys")
    now = int(time.time())
    create_root_ca(files, now)
    other = create_signing_key(files, now)
    forged = sign_statement(files, other.record(), {**claims, "pn": "Something else"}, now=now)
    flipped = signature[:-2] + ("A" if signature[-2] != "A" else "B") + signature[-1]
    unsigned = b64(b'{"alg":"none","typ":"mkr-statement+jwt"}')
    nameless = b64(msgspec.json.encode({k: v for k, v in claims.items() if k != "cid"}))
    for name, text in {
        "another root's key": forged,
        "signature altered": f"{header}.{payload}.{flipped}",
        "payload from another statement": f"{header}.{forged.split('.')[1]}.{signature}",
        "alg none, empty signature": f"{unsigned}.{payload}.",
        "alg none in a verify URL": f"http://registry.test/v/{certificate_id}#{unsigned}.{payload}.",
        "claims naming no certificate": f"{header}.{nameless}.{signature}",
    }.items():
        response = await client.post("/v1/verify/statement", json={"text": text})
        assert response.status_code == 200, (name, response.text)
        body = response.json()
        assert body["verdict"] == "not_good_to_go", (name, body)
        explanations = [check["explanation"] for check in body["checks"]]
        # Never an empty ID in the words: "found 0 in ''", "no certificate ."
        assert not [e for e in explanations if "''" in e or " ." in e], (name, explanations)
        if name != "claims naming no certificate":
            registered = next(c for c in body["checks"] if c["name"] == "registered")
            assert (
                certificate_id in registered["explanation"]
                or "never issued" in (registered["explanation"])
            ), (name, registered)


def b64(data: bytes) -> str:
    return __import__("base64").urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


async def test_a_key_revoked_before_issuance_fails(
    client: httpx.AsyncClient, certificate_id: str
) -> None:
    from registry.services import keys
    from registry.services.audit import SYSTEM

    kid = (await client.get(f"/v1/certificates/{certificate_id}")).json()["kid"]
    record = (await client.get(f"/v1/certificates/{certificate_id}")).json()
    issued_at = seconds(record["issued_at"])
    await keys.revoke(SYSTEM, kid, issued_at - 60)
    body = (await client.get(f"/v1/verify/{certificate_id}")).json()
    assert body["verdict"] == "not_good_to_go"
    assert outcomes(body)["key_valid"] == "failed"


async def test_a_key_revoked_after_issuance_still_verifies(
    client: httpx.AsyncClient, certificate_id: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from registry.services import keys
    from registry.services.audit import SYSTEM

    kid = (await client.get(f"/v1/certificates/{certificate_id}")).json()["kid"]
    record = (await client.get(f"/v1/certificates/{certificate_id}")).json()
    issued_at = seconds(record["issued_at"])
    monkeypatch.setattr("registry.clock.now", lambda: issued_at + 60)
    await keys.revoke(SYSTEM, kid, issued_at + 1)
    body = (await client.get(f"/v1/verify/{certificate_id}")).json()
    assert outcomes(body)["key_valid"] == "passed"
    assert body["verdict"] == "good_to_go"


async def test_public_endpoints_are_rate_limited_per_client(db: None) -> None:
    settings = msgspec.structs.replace(get_settings(), public_rate_per_minute=3)
    app = create_app(settings)
    transport = httpx.ASGITransport(app=app, client=("203.0.113.7", 1234))
    async with httpx.AsyncClient(transport=transport, base_url="http://registry.test") as http:
        statuses = [(await http.get("/v1/criteria-sets")).status_code for _ in range(4)]
        assert statuses == [200, 200, 200, 429]
        limited = await http.get("/v1/criteria-sets")
        assert limited.headers["content-type"].startswith("application/problem+json")
        assert int(limited.headers["retry-after"]) >= 1
        spoofed = await http.get("/v1/criteria-sets", headers={"X-Forwarded-For": "198.51.100.1"})
        assert spoofed.status_code == 429, "X-Forwarded-For from an untrusted peer is ignored"
        assert (await http.get("/health")).status_code == 200, "liveness is not limited"
    # The sign-in page too: what a password-guesser from one address costs is bounded.
    transport = httpx.ASGITransport(app=app, client=("203.0.113.8", 1234))
    async with httpx.AsyncClient(transport=transport, base_url="http://registry.test") as http:
        statuses = [(await http.get("/sign-in")).status_code for _ in range(4)]
        assert statuses == [200, 200, 200, 429]
    exempt = msgspec.structs.replace(settings, rate_limit_exempt=("203.0.113.0/24",))
    transport = httpx.ASGITransport(app=create_app(exempt), client=("203.0.113.7", 1234))
    async with httpx.AsyncClient(transport=transport, base_url="http://registry.test") as http:
        statuses = [(await http.get("/v1/criteria-sets")).status_code for _ in range(5)]
        assert statuses == [200] * 5, (
            "an exempt address (a monitor, a load generator) is not counted"
        )


def test_forwarded_for_is_believed_only_from_trusted_proxies() -> None:
    from litestar.testing import RequestFactory

    from registry.api.client_address import client_address

    trusted = msgspec.structs.replace(get_settings(), trusted_proxies=("10.0.0.0/8",))
    factory = RequestFactory()

    def address(peer: str, forwarded: str | None, settings: Any) -> str:
        headers = {"x-forwarded-for": forwarded} if forwarded else {}
        request = factory.get("/v1/verify/x", headers=headers)
        request.scope["client"] = (peer, 1)
        return client_address(request, settings)

    assert address("10.1.1.1", "198.51.100.9", trusted) == "198.51.100.9"
    assert address("10.1.1.1", "6.6.6.6, 198.51.100.9, 10.2.2.2", trusted) == "198.51.100.9"
    assert address("192.0.2.1", "198.51.100.9", trusted) == "192.0.2.1", "untrusted peer"
    assert address("10.1.1.1", "198.51.100.9", get_settings()) == "10.1.1.1", "no proxies set"


async def _offline(client: httpx.AsyncClient, text: str) -> dict[str, Any]:
    """Verify ``text`` offline against the trust bundle the registry serves now."""
    from registry.services import verification

    saved = {**(await client.get("/v1/trust")).json(), "fetched_at": int(time.time())}
    bundle = verification.load_bundle(saved)
    out = await verification.verify_offline(text, bundle, max_age=3600)
    decoded: dict[str, Any] = msgspec.to_builtins(out)
    return decoded


async def test_offline_a_bundle_fetched_after_a_suspension_is_not_good_to_go(
    client: httpx.AsyncClient, world: World, certificate_id: str
) -> None:
    statement = (await client.get(f"/v1/certificates/{certificate_id}/statement")).text
    before = await _offline(client, statement)
    assert before["verdict"] == "good_to_go", before
    status = next(c for c in before["checks"] if c["name"] == "status")
    assert "not suspended, revoked or replaced as of the trust bundle" in status["explanation"]

    suspended = await client.post(
        f"/v1/certificates/{certificate_id}/status",
        json={"action": "suspend", "reason": "safety_concern", "note": "Under investigation."},
        headers=world.admin.headers,
    )
    assert suspended.status_code == 200, suspended.text
    listed = (await client.get("/v1/trust")).json()["document"]["statuses"]
    assert [(e["certificate_id"], e["status"]) for e in listed] == [(certificate_id, "suspended")]
    after = await _offline(client, statement)
    assert after["verdict"] == "not_good_to_go", after
    status = next(c for c in after["checks"] if c["name"] == "status")
    assert status["outcome"] == "failed"
    assert "listed it as suspended because of a safety concern" in status["explanation"], status
