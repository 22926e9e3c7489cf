"""API token lifecycle over HTTP (DESIGN §1): issue, use, expire, revoke, deactivate, refuse.

A token is ``mkr_`` + 43 base64url characters, shown once at issue and stored only as its SHA-256;
listings show its prefix and times, never the secret or its hash. Every refusal is a 401
problem with ``WWW-Authenticate``, and says the same thing whether the token was unknown,
expired or revoked.
"""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from registry.settings import get_settings
from tests.times import rfc3339
from tests.world import World

DAY = 86_400
PROBLEM_JSON = "application/problem+json"
TOKEN_SHAPE = re.compile(r"mkr_[A-Za-z0-9_-]{43}")
LISTED_FIELDS = {
    "id",
    "user_id",
    "label",
    "prefix",
    "created_at",
    "expires_at",
    "revoked_at",
    "last_used_at",
}


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


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def assert_problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM_JSON)
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    return body


def assert_unauthenticated(response: httpx.Response) -> None:
    assert_problem(response, 401)
    assert response.headers["www-authenticate"].startswith("Bearer")


async def issue(
    client: httpx.AsyncClient, world: World, user_id: str, **body: Any
) -> dict[str, Any]:
    """Issue a token as the admin; returns the creation response body."""
    response = await client.post(
        f"/v1/users/{user_id}/tokens", json=body, headers=world.admin.headers
    )
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def listed(client: httpx.AsyncClient, world: World, user_id: str) -> httpx.Response:
    response = await client.get(f"/v1/users/{user_id}/tokens", headers=world.admin.headers)
    assert response.status_code == 200, response.text
    return response


def listing_entry(response: httpx.Response, token_id: str) -> dict[str, Any]:
    (entry,) = [item for item in response.json()["items"] if item["id"] == token_id]
    return entry  # type: ignore[no-any-return]


async def test_secret_is_shown_once_and_never_listed(
    client: httpx.AsyncClient, world: World
) -> None:
    user = world.reviewer_2.user_id
    created = await issue(client, world, user, label="laptop")
    secret, details = created["token"], created["details"]
    assert TOKEN_SHAPE.fullmatch(secret)
    assert details["prefix"] == secret[:12]
    assert details["user_id"] == user
    assert details["label"] == "laptop"

    listing = await listed(client, world, user)
    entry = listing_entry(listing, details["id"])
    assert set(entry) == LISTED_FIELDS
    assert entry["prefix"] == secret[:12]
    assert entry["created_at"] == details["created_at"]
    assert entry["expires_at"] == details["expires_at"]
    assert entry["last_used_at"] is None
    assert entry["revoked_at"] is None

    assert hashlib.sha256(secret.encode()).hexdigest() not in str(created)

    # Neither this secret nor the user's other one appears in the listing or the audit trail,
    # not even the part after the shown prefix, nor the hash they are stored under.
    audit = await client.get("/v1/audit?limit=200", headers=world.admin.headers)
    for secret_of_user in (secret, world.reviewer_2.token):
        digest = hashlib.sha256(secret_of_user.encode()).hexdigest()
        for text in (listing.text, audit.text):
            assert secret_of_user[12:] not in text
            assert digest not in text


async def test_tokens_are_listed_per_user(client: httpx.AsyncClient, world: World) -> None:
    created = await issue(client, world, world.reviewer_2.user_id)
    other = await listed(client, world, world.reviewer.user_id)
    assert created["details"]["id"] not in {item["id"] for item in other.json()["items"]}


async def test_use_records_last_use_at_minute_resolution(
    client: httpx.AsyncClient, world: World, clock: FakeClock
) -> None:
    user = world.reviewer_2.user_id
    created = await issue(client, world, user)
    token, token_id = created["token"], created["details"]["id"]
    first_use = clock.at

    me = await client.get("/v1/me", headers=bearer(token))
    assert me.status_code == 200, me.text
    assert me.json()["user"]["id"] == user
    assert me.json()["token_id"] == token_id
    last_used = listing_entry(await listed(client, world, user), token_id)["last_used_at"]
    assert last_used == rfc3339(first_use)

    # Within the touch interval a use is not written again; after it, it is.
    interval = get_settings().token_touch_interval_seconds
    clock.at = first_use + interval - 1
    assert (await client.get("/v1/me", headers=bearer(token))).status_code == 200
    last_used = listing_entry(await listed(client, world, user), token_id)["last_used_at"]
    assert last_used == rfc3339(first_use)
    clock.at = first_use + interval
    assert (await client.get("/v1/me", headers=bearer(token))).status_code == 200
    last_used = listing_entry(await listed(client, world, user), token_id)["last_used_at"]
    assert last_used == rfc3339(clock.at)


@dataclass(frozen=True)
class ExpiryCase:
    name: str
    expires_in_days: int
    used_after_seconds: int
    works: bool


EXPIRY = [
    ExpiryCase("a one-day token works a second before it expires", 1, DAY - 1, works=True),
    ExpiryCase("a one-day token is refused the second it expires", 1, DAY, works=False),
    ExpiryCase("a one-day token is refused a year later", 1, 365 * DAY, works=False),
    ExpiryCase("a two-year token still works after a year", 730, 365 * DAY, works=True),
]


@pytest.mark.parametrize("case", EXPIRY, ids=lambda case: case.name)
async def test_expiry(
    client: httpx.AsyncClient, world: World, clock: FakeClock, case: ExpiryCase
) -> None:
    created = await issue(
        client, world, world.reviewer_2.user_id, expires_in_days=case.expires_in_days
    )
    assert created["details"]["expires_at"] == rfc3339(clock.at + case.expires_in_days * DAY)
    clock.at += case.used_after_seconds
    response = await client.get("/v1/me", headers=bearer(created["token"]))
    if case.works:
        assert response.status_code == 200, response.text
    else:
        assert_unauthenticated(response)


async def test_revoked_token_stops_working_and_revoking_twice_keeps_the_first_time(
    client: httpx.AsyncClient, world: World, clock: FakeClock
) -> None:
    created = await issue(client, world, world.reviewer_2.user_id)
    token, token_id = created["token"], created["details"]["id"]
    assert (await client.get("/v1/me", headers=bearer(token))).status_code == 200

    revoked_at = rfc3339(clock.at)
    first = await client.delete(f"/v1/tokens/{token_id}", headers=world.admin.headers)
    assert first.status_code == 200, first.text
    assert first.json()["revoked_at"] == revoked_at
    assert_unauthenticated(await client.get("/v1/me", headers=bearer(token)))

    clock.at += 3600
    second = await client.delete(f"/v1/tokens/{token_id}", headers=world.admin.headers)
    assert second.status_code == 200, second.text
    assert second.json()["revoked_at"] == revoked_at
    listing = await listed(client, world, world.reviewer_2.user_id)
    assert listing_entry(listing, token_id)["revoked_at"] == revoked_at

    audit = (await client.get("/v1/audit?limit=200", headers=world.admin.headers)).json()
    revocations = [
        event
        for event in audit["items"]
        if event["tag"] == "token:revoked" and event["subject"] == f"token:{token_id}"
    ]
    assert len(revocations) == 1
    # The other tokens of the same user are untouched.
    assert (await client.get("/v1/me", headers=world.reviewer_2.headers)).status_code == 200


@pytest.mark.parametrize(
    "token_id", ["00000000-0000-4000-8000-000000000000", "not-a-token-id"], ids=["unknown", "junk"]
)
async def test_revoking_a_token_that_does_not_exist_is_404(
    client: httpx.AsyncClient, world: World, token_id: str
) -> None:
    assert_problem(await client.delete(f"/v1/tokens/{token_id}", headers=world.admin.headers), 404)


@dataclass(frozen=True)
class HeaderCase:
    name: str
    header: Callable[[str], str | None]  # builds the Authorization header from a live token
    works: bool


HEADERS = [
    HeaderCase("a live token", lambda token: f"Bearer {token}", works=True),
    HeaderCase("the scheme in lower case", lambda token: f"bearer {token}", works=True),
    HeaderCase("the scheme in upper case", lambda token: f"BEARER {token}", works=True),
    HeaderCase("no Authorization header", lambda _: None, works=False),
    HeaderCase("Basic credentials", lambda _: "Basic dXNlcjpwYXNzd29yZA==", works=False),
    HeaderCase("Basic carrying a live token", lambda token: f"Basic {token}", works=False),
    HeaderCase("the Bearer scheme and nothing else", lambda _: "Bearer", works=False),
    HeaderCase("Bearer and a short word", lambda _: "Bearer short", works=False),
    HeaderCase("a live token with no scheme", lambda token: token, works=False),
    HeaderCase("a live token without mkr_", lambda token: f"Bearer {token[4:]}", works=False),
    HeaderCase(
        "a live token one character too long", lambda token: f"Bearer {token}A", works=False
    ),
    HeaderCase(
        "a live token with a character outside base64url",
        lambda token: f"Bearer {token[:-1]}!",
        works=False,
    ),
    HeaderCase(
        "a token of the right shape nobody issued",
        lambda _: "Bearer mkr_" + "A" * 43,
        works=False,
    ),
    HeaderCase("two tokens", lambda token: f"Bearer {token} {token}", works=False),
]


@pytest.mark.parametrize("case", HEADERS, ids=lambda case: case.name)
async def test_authorization_header(
    client: httpx.AsyncClient, world: World, case: HeaderCase
) -> None:
    header = case.header(world.supplier_a.token)
    response = await client.get(
        "/v1/me", headers={"Authorization": header} if header is not None else None
    )
    if case.works:
        assert response.status_code == 200, response.text
        assert response.json()["user"]["id"] == world.supplier_a.user_id
    else:
        assert_unauthenticated(response)
        assert world.supplier_a.token not in response.text


async def test_unknown_expired_and_revoked_tokens_are_refused_alike(
    client: httpx.AsyncClient, world: World, clock: FakeClock
) -> None:
    expiring = await issue(client, world, world.reviewer_2.user_id, expires_in_days=1)
    revoked = await issue(client, world, world.reviewer_2.user_id)
    await client.delete(f"/v1/tokens/{revoked['details']['id']}", headers=world.admin.headers)
    clock.at += DAY
    details = set()
    for token in ("mkr_" + "A" * 43, expiring["token"], revoked["token"]):
        response = await client.get("/v1/me", headers=bearer(token))
        assert_unauthenticated(response)
        details.add(response.json()["detail"])
    assert len(details) == 1


async def test_deactivation_revokes_tokens_for_good_and_reactivation_needs_a_new_one(
    client: httpx.AsyncClient, world: World
) -> None:
    user = world.supplier_a
    off = await client.patch(
        f"/v1/users/{user.user_id}", json={"active": False}, headers=world.admin.headers
    )
    assert off.status_code == 200, off.text
    assert off.json()["active"] is False
    assert_unauthenticated(await client.get("/v1/me", headers=user.headers))
    body = assert_problem(
        await client.post(f"/v1/users/{user.user_id}/tokens", json={}, headers=world.admin.headers),
        409,
    )
    assert "deactivated" in body["detail"]

    on = await client.patch(
        f"/v1/users/{user.user_id}", json={"active": True}, headers=world.admin.headers
    )
    assert on.status_code == 200, on.text
    assert on.json()["active"] is True
    # The old token stays dead: reactivation never revives a credential that was out there.
    assert_unauthenticated(await client.get("/v1/me", headers=user.headers))
    listed = await client.get(f"/v1/users/{user.user_id}/tokens", headers=world.admin.headers)
    assert [t["revoked_at"] is not None for t in listed.json()["items"]] == [True]
    fresh = await issue(client, world, user.user_id)
    me = await client.get("/v1/me", headers=bearer(fresh["token"]))
    assert me.status_code == 200, me.text
    assert me.json()["user"]["active"] is True


async def test_deactivated_admin_cannot_act(client: httpx.AsyncClient, world: World) -> None:
    # A second admin deactivates the first; the first's token then opens nothing.
    second = await client.post(
        "/v1/users",
        json={"email": "second-admin@test.example", "name": "Second", "role": "admin"},
        headers=world.admin.headers,
    )
    second_token = await issue(client, world, second.json()["id"])
    off = await client.patch(
        f"/v1/users/{world.admin.user_id}",
        json={"active": False},
        headers=bearer(second_token["token"]),
    )
    assert off.status_code == 200, off.text
    assert_unauthenticated(await client.get("/v1/audit", headers=world.admin.headers))


@dataclass(frozen=True)
class LifetimeCase:
    name: str
    body: dict[str, Any]
    days: int | None  # the lifetime granted, or None when the request is refused with 400


LIFETIMES = [
    LifetimeCase("no lifetime asked: the default", {}, get_settings().token_default_days),
    LifetimeCase("one day, the shortest allowed", {"expires_in_days": 1}, 1),
    LifetimeCase("two years, the longest allowed", {"expires_in_days": 730}, 730),
    LifetimeCase(
        "an explicit null: the default",
        {"expires_in_days": None},
        get_settings().token_default_days,
    ),
    LifetimeCase("zero days", {"expires_in_days": 0}, None),
    LifetimeCase("a day over two years", {"expires_in_days": 731}, None),
    LifetimeCase("a negative lifetime", {"expires_in_days": -30}, None),
    LifetimeCase("a fractional day", {"expires_in_days": 1.5}, None),
]


@pytest.mark.parametrize("case", LIFETIMES, ids=lambda case: case.name)
async def test_token_lifetime(
    client: httpx.AsyncClient, world: World, clock: FakeClock, case: LifetimeCase
) -> None:
    response = await client.post(
        f"/v1/users/{world.reviewer_2.user_id}/tokens",
        json=case.body,
        headers=world.admin.headers,
    )
    if case.days is None:
        body = assert_problem(response, 400)
        assert "expires_in_days" in body["detail"]
        return
    assert response.status_code == 201, response.text
    details = response.json()["details"]
    assert details["created_at"] == rfc3339(clock.at)
    assert details["expires_at"] == rfc3339(clock.at + case.days * DAY)


@pytest.mark.parametrize(
    "user_id", ["00000000-0000-4000-8000-000000000000", "not-a-user-id"], ids=["unknown", "junk"]
)
async def test_tokens_of_a_user_that_does_not_exist_are_404(
    client: httpx.AsyncClient, world: World, user_id: str
) -> None:
    headers = world.admin.headers
    assert_problem(await client.get(f"/v1/users/{user_id}/tokens", headers=headers), 404)
    assert_problem(await client.post(f"/v1/users/{user_id}/tokens", json={}, headers=headers), 404)
