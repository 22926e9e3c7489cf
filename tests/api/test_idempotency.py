"""Idempotency-Key over HTTP: a retry replays the first response instead of running again.

Every test talks to the app as a client would; a running key is begun through the service, as a
first request still in flight would have begun it.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass
from typing import Any

import httpx
import msgspec
import pytest

from registry.blobs import blob_store
from registry.domain import idempotency as rules
from registry.services import idempotency
from registry.services.audit import SYSTEM
from registry.services.criteria import builtin_document, publish
from registry.tables import Dossier, Evidence, IdempotencyKey, Product
from tests.supplier_flow import TIER_A_ADMIN, complete_dossier, new_dossier, tiny_pdf, upload
from tests.world import World

PRODUCT = {
    "name": "Triage",
    "intended_purpose": "Helps patients reach care.",
    "profile": TIER_A_ADMIN,
}


@pytest.fixture
async def published(world: World) -> None:
    await publish(SYSTEM, builtin_document())


pytestmark = pytest.mark.usefixtures("published")


@dataclass
class FakeClock:
    """Stands in for ``registry.clock.now``; tests move ``at`` to travel in time."""

    at: int

    def __call__(self) -> int:
        return self.at


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    fake = FakeClock(int(time.time()))
    monkeypatch.setattr("registry.clock.now", fake)
    return fake


def keyed(person_headers: dict[str, str], key: str) -> dict[str, str]:
    return {**person_headers, "Idempotency-Key": key}


def new_key() -> str:
    return str(uuid.uuid4())


def assert_problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    return body


def assert_replay_of(replay: httpx.Response, first: httpx.Response) -> None:
    """The replay is the first response again, headers that matter included, and says so."""
    assert replay.headers.get("idempotent-replayed") == "true"
    assert "idempotent-replayed" not in first.headers
    assert replay.status_code == first.status_code
    assert replay.content == first.content
    for name in ("content-type", "location", "etag"):
        assert replay.headers.get(name) == first.headers.get(name), name


async def product_id(client: httpx.AsyncClient, headers: dict[str, str]) -> str:
    response = await client.post("/v1/products", json=PRODUCT, headers=headers)
    assert response.status_code == 201, response.text
    created: str = response.json()["id"]
    return created


async def test_a_retried_dossier_create_replays_the_first_dossier(
    client: httpx.AsyncClient, world: World
) -> None:
    headers = keyed(world.supplier_a.headers, new_key())
    body = {
        "product_id": await product_id(client, world.supplier_a.headers),
        "product_version": "2.4.1",
    }
    first = await client.post("/v1/dossiers", json=body, headers=headers)
    assert first.status_code == 201, first.text
    assert first.headers["etag"]

    again = await client.post("/v1/dossiers", json=body, headers=headers)

    assert_replay_of(again, first)
    assert again.json()["id"] == first.json()["id"]
    assert await Dossier.count() == 1


async def test_a_retried_upload_stores_one_evidence_file(
    client: httpx.AsyncClient, world: World
) -> None:
    h = world.supplier_a.headers
    dossier = await new_dossier(client, h, TIER_A_ADMIN)
    content = tiny_pdf("retried upload")
    blobs_before = [digest async for digest, _ in blob_store().entries()]
    headers = keyed(h, new_key())

    first = await upload(client, headers, dossier["id"], "policy_document", ["C3.6"], content)
    again = await upload(client, headers, dossier["id"], "policy_document", ["C3.6"], content)

    assert first.status_code == 201, first.text
    boundaries = {r.request.headers["content-type"] for r in (first, again)}
    assert len(boundaries) == 2, "httpx draws a new multipart boundary for every request"
    assert_replay_of(again, first)
    assert await Evidence.count() == 1
    blobs_after = [digest async for digest, _ in blob_store().entries()]
    assert len(blobs_after) - len(blobs_before) <= 1


async def test_a_retried_submit_replays_200_instead_of_409(
    client: httpx.AsyncClient, world: World
) -> None:
    h = world.supplier_a.headers
    dossier = await new_dossier(client, h, TIER_A_ADMIN)
    await complete_dossier(client, h, dossier, TIER_A_ADMIN)
    headers = keyed(h, new_key())
    path = f"/v1/dossiers/{dossier['id']}/submit"

    first = await client.post(path, headers=headers)
    again = await client.post(path, headers=headers)

    assert first.status_code == 200, first.text
    assert_replay_of(again, first)
    unkeyed = await client.post(path, headers=h)
    assert_problem(unkeyed, 409)  # without a key, a second submit is a second submit


async def test_a_retried_patch_replays_its_etag_instead_of_412(
    client: httpx.AsyncClient, world: World
) -> None:
    h = world.supplier_a.headers
    dossier = await new_dossier(client, h, TIER_A_ADMIN)
    path = f"/v1/dossiers/{dossier['id']}"
    etag = (await client.get(path, headers=h)).headers["etag"]
    headers = {**keyed(h, new_key()), "If-Match": etag}

    first = await client.patch(path, json={"product_version": "2.5.0"}, headers=headers)
    again = await client.patch(path, json={"product_version": "2.5.0"}, headers=headers)

    assert first.status_code == 200, first.text
    assert first.headers["etag"] != etag
    assert_replay_of(again, first)


async def test_a_refusal_is_replayed_too(client: httpx.AsyncClient, world: World) -> None:
    h = world.supplier_a.headers
    dossier = await new_dossier(client, h, TIER_A_ADMIN)
    headers = keyed(h, new_key())
    path = f"/v1/dossiers/{dossier['id']}/submit"

    first = await client.post(path, headers=headers)  # nothing answered yet
    assert_problem(first, 422)
    await complete_dossier(client, h, dossier, TIER_A_ADMIN)
    again = await client.post(path, headers=headers)

    assert_replay_of(again, first)  # a 4xx is an outcome: the key now stands for it


@dataclass(frozen=True)
class Reuse:
    """The same key sent again with something about the request changed."""

    name: str
    method: str
    path: str
    body: dict[str, Any]


REUSES = [
    Reuse("another body", "POST", "/v1/products", {**PRODUCT, "name": "Other"}),
    Reuse("another path", "POST", "/v1/dossiers", {"product_id": str(uuid.uuid4())}),
    Reuse("a query string", "POST", "/v1/products?x=1", PRODUCT),
    Reuse("another method", "PATCH", "/v1/products", PRODUCT),
]


@pytest.mark.parametrize("reuse", REUSES, ids=lambda r: r.name)
async def test_the_same_key_for_another_request_is_422(
    client: httpx.AsyncClient, world: World, reuse: Reuse
) -> None:
    headers = keyed(world.supplier_a.headers, new_key())
    first = await client.post("/v1/products", json=PRODUCT, headers=headers)
    assert first.status_code == 201, first.text

    other = await client.request(reuse.method, reuse.path, json=reuse.body, headers=headers)

    if reuse.method == "PATCH":  # no PATCH route on /v1/products: routing answers first
        assert other.status_code == 405
        return
    problem = assert_problem(other, 422)
    assert problem["field"] == "Idempotency-Key"
    assert "different request" in problem["detail"]
    assert await Product.count() == 1


async def test_a_retry_while_the_first_request_runs_is_409(
    client: httpx.AsyncClient, world: World
) -> None:
    key = new_key()
    body = msgspec.json.encode(PRODUCT)
    credential = world.supplier_a.headers["Authorization"]
    fingerprint = rules.request_fingerprint("POST", "/v1/products", "application/json", "", body)
    running = await idempotency.begin(credential, key, fingerprint)
    assert isinstance(running, idempotency.Begun)
    headers = {**keyed(world.supplier_a.headers, key), "Content-Type": "application/json"}

    retry = await client.post("/v1/products", content=body, headers=headers)

    assert "still running" in assert_problem(retry, 409)["detail"]
    assert await Product.count() == 0
    await idempotency.release(running)
    after = await client.post("/v1/products", content=body, headers=headers)
    assert after.status_code == 201, "a released key runs the request"


async def test_an_abandoned_request_frees_its_key(
    client: httpx.AsyncClient, world: World, clock: FakeClock
) -> None:
    key = new_key()
    body = msgspec.json.encode(PRODUCT)
    credential = world.supplier_a.headers["Authorization"]
    fingerprint = rules.request_fingerprint("POST", "/v1/products", "application/json", "", body)
    await idempotency.begin(credential, key, fingerprint)  # its process dies: never finished
    headers = {**keyed(world.supplier_a.headers, key), "Content-Type": "application/json"}
    clock.at += rules.RUNNING_SECONDS

    retry = await client.post("/v1/products", content=body, headers=headers)

    assert retry.status_code == 201, retry.text
    assert await IdempotencyKey.count() == 1


async def test_concurrent_requests_with_one_key_run_once(
    client: httpx.AsyncClient, world: World
) -> None:
    headers = keyed(world.supplier_a.headers, new_key())

    responses = await asyncio.gather(
        *(client.post("/v1/products", json=PRODUCT, headers=headers) for _ in range(4))
    )

    ran = [r for r in responses if r.status_code == 201 and "idempotent-replayed" not in r.headers]
    assert len(ran) == 1, [(r.status_code, r.text) for r in responses]
    for response in responses:
        assert response.status_code in {201, 409}, response.text
    assert await Product.count() == 1


async def test_two_callers_keys_never_meet(client: httpx.AsyncClient, world: World) -> None:
    key = new_key()
    a = await client.post(
        "/v1/products", json=PRODUCT, headers=keyed(world.supplier_a.headers, key)
    )
    b = await client.post(
        "/v1/products", json=PRODUCT, headers=keyed(world.supplier_b.headers, key)
    )

    assert a.status_code == b.status_code == 201
    assert "idempotent-replayed" not in b.headers
    assert a.json()["id"] != b.json()["id"]
    assert await Product.count() == 2


async def test_a_key_is_kept_24_hours_then_reusable_and_purged(
    client: httpx.AsyncClient, world: World, clock: FakeClock
) -> None:
    headers = keyed(world.supplier_a.headers, new_key())
    first = await client.post("/v1/products", json=PRODUCT, headers=headers)
    assert first.status_code == 201, first.text
    other = {**PRODUCT, "name": "Next day"}

    clock.at += rules.KEEP_SECONDS - 1
    assert_problem(await client.post("/v1/products", json=other, headers=headers), 422)
    assert await idempotency.purge_expired() == 0

    clock.at += 1
    reused = await client.post("/v1/products", json=other, headers=headers)
    assert reused.status_code == 201, reused.text
    assert "idempotent-replayed" not in reused.headers
    assert reused.json()["name"] == "Next day"

    clock.at += rules.KEEP_SECONDS
    assert await idempotency.purge_expired() == 1
    assert await IdempotencyKey.count() == 0


async def test_a_5xx_is_not_kept_so_a_retry_runs_again(
    client: httpx.AsyncClient, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    from registry.services import products

    real = products.create_product

    async def failing(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("the database went away")

    headers = keyed(world.supplier_a.headers, new_key())
    monkeypatch.setattr(products, "create_product", failing)
    failed = await client.post("/v1/products", json=PRODUCT, headers=headers)
    assert_problem(failed, 500)
    assert await IdempotencyKey.count() == 0

    monkeypatch.setattr(products, "create_product", real)
    retry = await client.post("/v1/products", json=PRODUCT, headers=headers)
    assert retry.status_code == 201, retry.text
    assert "idempotent-replayed" not in retry.headers


async def test_a_revoked_token_gets_401_not_a_replay(
    client: httpx.AsyncClient, world: World
) -> None:
    user = f"/v1/users/{world.reviewer.user_id}/tokens"
    headers = keyed(world.admin.headers, new_key())
    created = await client.post(user, json={"label": "ci"}, headers=headers)
    assert created.status_code == 201, created.text
    revoked = await client.delete(f"/v1/tokens/{world.admin.token_id}", headers=world.admin.headers)
    assert revoked.status_code == 200, revoked.text

    again = await client.post(user, json={"label": "ci"}, headers=headers)

    assert_problem(again, 401)  # the new token's secret is not handed out again


@dataclass(frozen=True)
class BadKey:
    """An Idempotency-Key value the registry refuses."""

    name: str
    value: bytes


BAD_KEYS = [
    BadKey("longer than 255 characters", b"k" * 256),
    BadKey("empty", b""),
    BadKey("a control character", b"key\x01one"),
    BadKey("a tab", b"key\tone"),
    BadKey("a non-ASCII byte", b"caf\xe9"),
]


@pytest.mark.parametrize("bad", BAD_KEYS, ids=lambda b: b.name)
async def test_a_malformed_key_is_400(client: httpx.AsyncClient, world: World, bad: BadKey) -> None:
    headers = [
        (b"Authorization", world.supplier_a.headers["Authorization"].encode()),
        (b"Idempotency-Key", bad.value),
    ]
    response = await client.post("/v1/products", json=PRODUCT, headers=headers)

    assert_problem(response, 400)
    assert await Product.count() == 0


@dataclass(frozen=True)
class GoodKey:
    """Key values that are accepted, and the key each stands for."""

    name: str
    sent: str
    same_as: str


GOOD_KEYS = [
    GoodKey("255 characters", "k" * 255, "k" * 255),
    GoodKey("a structured-field string", '"abc-1"', "abc-1"),
    GoodKey("spaces inside", "a b", "a b"),
]


@pytest.mark.parametrize("good", GOOD_KEYS, ids=lambda g: g.name)
async def test_well_formed_keys_are_accepted(
    client: httpx.AsyncClient, world: World, good: GoodKey
) -> None:
    first = await client.post(
        "/v1/products", json=PRODUCT, headers=keyed(world.supplier_a.headers, good.sent)
    )
    again = await client.post(
        "/v1/products", json=PRODUCT, headers=keyed(world.supplier_a.headers, good.same_as)
    )

    assert first.status_code == 201, first.text
    assert_replay_of(again, first)


async def test_requests_the_key_does_not_cover_run_as_they_are(
    client: httpx.AsyncClient, world: World
) -> None:
    key = new_key()
    anonymous = await client.post("/v1/products", json=PRODUCT, headers={"Idempotency-Key": key})
    assert_problem(anonymous, 401)
    read = await client.get("/v1/products", headers=keyed(world.supplier_a.headers, key))
    assert read.status_code == 200
    verify = await client.post(
        "/v1/verify/statement",
        json={"statement": "not a statement"},
        headers=keyed(world.supplier_a.headers, key),
    )
    assert "idempotent-replayed" not in verify.headers
    assert await IdempotencyKey.count() == 0


async def test_a_body_over_the_limit_is_413_and_takes_no_key(
    client: httpx.AsyncClient, world: World
) -> None:
    from registry.settings import get_settings

    oversized = {**PRODUCT, "intended_purpose": "x" * (get_settings().max_body_bytes + 1)}
    response = await client.post(
        "/v1/products", json=oversized, headers=keyed(world.supplier_a.headers, new_key())
    )

    assert_problem(response, 413)
    assert await IdempotencyKey.count() == 0


def test_the_openapi_document_declares_the_header_where_it_applies() -> None:
    from registry.app import create_app

    document = create_app().openapi_schema.to_schema()
    declared = {
        (method.upper(), path)
        for path, operations in document["paths"].items()
        for method, operation in operations.items()
        if any(p["name"] == "Idempotency-Key" for p in operation.get("parameters", []))
    }
    assert ("POST", "/v1/dossiers") in declared
    assert ("POST", "/v1/dossiers/{dossier_id}/evidence") in declared
    assert ("POST", "/v1/dossiers/{dossier_id}/submit") in declared
    assert ("PATCH", "/v1/dossiers/{dossier_id}") in declared
    assert ("POST", "/v1/certificates/{certificate_id}/status") in declared
    assert not any(path.startswith("/v1/verify") for _, path in declared)
    assert all(method in {"POST", "PATCH"} for method, _ in declared)
    submit = document["paths"]["/v1/dossiers/{dossier_id}/submit"]["post"]
    assert {"400", "409", "422"} <= set(submit["responses"])


async def test_a_recorded_response_round_trips_byte_for_byte(db: None) -> None:
    body = bytes(range(256)) * 1200  # 300 KB, not UTF-8
    headers = [("content-type", "application/pdf"), ("etag", '"x"'), ("date", "today")]
    begun = await idempotency.begin("Bearer one", "key", "f" * 64)
    assert isinstance(begun, idempotency.Begun)

    await idempotency.finish(begun, 201, headers, body)
    recorded = await idempotency.begin("Bearer one", "key", "f" * 64)

    assert recorded == idempotency.Recorded(
        status=201, headers=[("content-type", "application/pdf"), ("etag", '"x"')], body=body
    )


async def test_a_keyed_request_looks_its_token_up_once(
    client: httpx.AsyncClient, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The middleware authenticates before any replay; the route's guard reuses that answer.
    from registry.services import identity

    calls: list[str | None] = []
    real = identity.authenticate

    async def counted(authorization: str | None) -> Any:
        calls.append(authorization)
        return await real(authorization)

    monkeypatch.setattr(identity, "authenticate", counted)
    created = await client.post(
        "/v1/organisations",
        json={"name": f"Once {uuid.uuid4().hex[:8]}", "kind": "supplier"},
        headers={**world.admin.headers, "Idempotency-Key": str(uuid.uuid4())},
    )
    assert created.status_code == 201, created.text
    assert len(calls) == 1, calls
