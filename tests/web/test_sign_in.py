"""Signing in to the pages (DESIGN §1): sessions, their limits, CSRF, throttling, sign-out,
deactivation, and a person's own API tokens page."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

import httpx
import pytest
import redis.asyncio as aioredis
from litestar import Litestar

from registry import clock
from registry.domain.identity import Role
from registry.domain.passwords import password_problem
from registry.services import passwords, sessions, signin
from registry.settings import get_settings
from registry.tables import AuditEvent, WebSession
from registry.web.auth import SESSION_COOKIE
from tests.people import SignedUpPerson, csrf_token_of, person_with_password, sign_in
from tests.world import World

PASSWORD = "violet-harbour-lantern-7"


@pytest.fixture
async def throttle_keys(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[str]:
    """A Redis key prefix of this test's own, its keys deleted afterwards."""
    prefix = f"kitemark-test:{uuid.uuid4().hex}:"
    monkeypatch.setattr(signin, "key_prefix", lambda: prefix)
    yield prefix
    client = aioredis.from_url(get_settings().redis_url)
    try:
        keys = [key async for key in client.scan_iter(match=f"{prefix}*")]
        if keys:
            await client.delete(*keys)
    finally:
        await client.aclose()


@pytest.fixture
async def person(world: World, throttle_keys: str) -> SignedUpPerson:
    """A supplier member of organisation A with a password."""
    email = f"signer-{uuid.uuid4().hex[:8]}@a.example"
    return await person_with_password(email, Role.supplier_member, world.org_a, PASSWORD)


@pytest.fixture
async def browser_client(app: Litestar) -> AsyncIterator[httpx.AsyncClient]:
    """A second client with its own cookie jar."""
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://registry.test") as http:
        yield http


async def _post_sign_in(
    client: httpx.AsyncClient, email: str, password: str, next_path: str = "/account"
) -> httpx.Response:
    page = await client.get("/sign-in")
    return await client.post(
        "/sign-in",
        data={
            "email": email,
            "password": password,
            "next": next_path,
            "_csrf_token": csrf_token_of(page.text),
        },
    )


async def _tags() -> list[str]:
    rows = await AuditEvent.select(AuditEvent.tag).order_by(AuditEvent.position)
    return [row["tag"] for row in rows]


# --- the password rules, as a table ------------------------------------------------------------


@dataclass(frozen=True)
class PasswordCase:
    label: str
    password: str
    accepted: bool


PASSWORD_CASES = [
    PasswordCase("twelve characters", "abcdefgh-jk9", accepted=True),
    PasswordCase("eleven characters", "abcdefgh-jk", accepted=False),
    PasswordCase("four random words", "staple cobalt harbour lime", accepted=True),
    PasswordCase("a common password", "password1234", accepted=False),
    PasswordCase("a common password in capitals", "PASSWORD1234", accepted=False),
    PasswordCase("a keyboard run", "qwertyuiop12", accepted=False),
    PasswordCase("the person's email", "pat.person@example.org", accepted=False),
    PasswordCase("the email in capitals", "PAT.PERSON@EXAMPLE.ORG", accepted=False),
    PasswordCase("1024 characters", "x1" * 512, accepted=True),
    PasswordCase("1025 characters", "x1" * 512 + "y", accepted=False),
]


@pytest.mark.parametrize("case", PASSWORD_CASES, ids=lambda c: c.label)
def test_password_rules(case: PasswordCase) -> None:
    problem = password_problem(
        case.password, "pat.person@example.org", passwords.common_passwords()
    )
    assert (problem is None) == case.accepted, problem


def test_the_common_list_is_shipped_and_sizeable() -> None:
    common = passwords.common_passwords()
    assert len(common) > 1000
    assert {"password", "123456", "qwerty123", "iloveyou"} <= common


# --- signing in --------------------------------------------------------------------------------


async def test_sign_in_starts_a_session_and_goes_to_next(
    client: httpx.AsyncClient, person: SignedUpPerson
) -> None:
    response = await _post_sign_in(client, person.email, PASSWORD, "/account/tokens")
    assert response.status_code == 303
    assert response.headers["location"] == "/account/tokens"
    cookie = response.headers["set-cookie"]
    assert f"{SESSION_COOKIE}=" in cookie
    assert "HttpOnly" in cookie
    assert "SameSite=lax" in cookie or "SameSite=Lax" in cookie
    account = await client.get("/account")
    assert account.status_code == 200
    assert person.email in account.text
    assert "session:signed_in" in await _tags()


@pytest.mark.parametrize("target", ["//evil.example/x", "https://evil.example/", "account"])
async def test_next_only_leads_to_this_site(
    client: httpx.AsyncClient, person: SignedUpPerson, target: str
) -> None:
    response = await _post_sign_in(client, person.email, PASSWORD, target)
    assert response.headers["location"] == "/account"


async def test_sign_in_rotates_the_session_id(
    client: httpx.AsyncClient, person: SignedUpPerson
) -> None:
    await sign_in(client, person.email, PASSWORD)
    first = client.cookies[SESSION_COOKIE]
    await sign_in(client, person.email, PASSWORD)
    second = client.cookies[SESSION_COOKIE]
    assert first != second
    assert await WebSession.count() == 1  # the first was ended, not left behind


async def test_unknown_email_and_wrong_password_answer_alike(
    client: httpx.AsyncClient, person: SignedUpPerson
) -> None:
    wrong = await _post_sign_in(client, person.email, "not-the-password-at-all")
    unknown = await _post_sign_in(client, "nobody-at-all@a.example", "not-the-password-at-all")
    assert wrong.status_code == unknown.status_code == 422
    # The email typed is echoed back into the form: compare with it taken out.
    assert wrong.text.replace(person.email, "E") == unknown.text.replace(
        "nobody-at-all@a.example", "E"
    )
    assert "The email address or password is not right." in wrong.text
    assert SESSION_COOKIE not in wrong.headers.get("set-cookie", "")
    assert (await _tags()).count("session:sign_in_failed") == 2


async def test_a_person_without_a_password_cannot_sign_in(
    client: httpx.AsyncClient, world: World, throttle_keys: str
) -> None:
    # The World's people were made without passwords (API tokens only).
    response = await _post_sign_in(client, "alice@a.example", "")
    assert response.status_code == 422


async def test_throttled_per_account(client: httpx.AsyncClient, person: SignedUpPerson) -> None:
    for _ in range(signin.ACCOUNT_LIMIT):
        assert (await _post_sign_in(client, person.email, "wrong-password-123")).status_code == 422
    refused = await _post_sign_in(client, person.email, PASSWORD)
    assert refused.status_code == 429
    assert "Too many attempts; try again in 15 minutes" in refused.text
    assert int(refused.headers["retry-after"]) > 0
    # The same answer for an account that does not exist.
    for _ in range(signin.ACCOUNT_LIMIT):
        await _post_sign_in(client, "ghost@a.example", "wrong-password-123")
    ghost = await _post_sign_in(client, "ghost@a.example", "wrong-password-123")
    assert ghost.status_code == 429
    assert "Too many attempts; try again in 15 minutes" in ghost.text


async def test_throttled_per_address(client: httpx.AsyncClient, person: SignedUpPerson) -> None:
    for n in range(signin.ADDRESS_LIMIT):
        response = await _post_sign_in(client, f"guess-{n}@a.example", "wrong-password-123")
        assert response.status_code == 422
    refused = await _post_sign_in(client, person.email, PASSWORD)
    assert refused.status_code == 429
    assert "Too many attempts" in refused.text


async def test_a_form_without_its_csrf_token_is_a_403_page(
    client: httpx.AsyncClient, person: SignedUpPerson
) -> None:
    await client.get("/sign-in")
    response = await client.post("/sign-in", data={"email": person.email, "password": PASSWORD})
    assert response.status_code == 403
    assert response.headers["content-type"].startswith("text/html")
    assert "reload the page" in response.text
    assert await WebSession.count() == 0


async def test_the_verification_upload_needs_no_csrf_token(
    client: httpx.AsyncClient, db: None
) -> None:
    response = await client.post("/v", files={"file": ("x.pdf", b"not a pdf", "application/pdf")})
    assert response.status_code == 415


# --- the session's limits ----------------------------------------------------------------------


def _at(monkeypatch: pytest.MonkeyPatch) -> Callable[[int], None]:
    start = clock.now()

    def move(seconds: int) -> None:
        monkeypatch.setattr(clock, "now", lambda: start + seconds)

    move(0)
    return move


async def test_idle_for_30_minutes_ends_the_session_keeping_next(
    client: httpx.AsyncClient, person: SignedUpPerson, monkeypatch: pytest.MonkeyPatch
) -> None:
    move = _at(monkeypatch)
    await sign_in(client, person.email, PASSWORD)
    move(29 * 60)
    assert (await client.get("/account/tokens")).status_code == 200
    move(29 * 60 + 30 * 60)
    response = await client.get("/account/tokens?notice=revoked")
    assert response.status_code == 303
    assert response.headers["location"] == "/sign-in?next=/account/tokens%3Fnotice%3Drevoked"
    page = await client.get(response.headers["location"])
    assert 'name="next" value="/account/tokens?notice=revoked"' in page.text


async def test_a_script_is_told_to_sign_in_with_a_401_not_redirected(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get(
        "/account/tokens?notice=revoked", headers={"Accept": "application/json"}
    )
    assert response.status_code == 401
    assert response.headers["cache-control"] == "no-store"
    assert response.json() == {
        "error": "Your session has ended. Sign in again.",
        "sign_in": "/sign-in?next=/account/tokens%3Fnotice%3Drevoked",
    }


async def test_a_session_that_ran_out_is_kept_refused_until_the_sweep(
    client: httpx.AsyncClient, person: SignedUpPerson, monkeypatch: pytest.MonkeyPatch
) -> None:
    move = _at(monkeypatch)
    await sign_in(client, person.email, PASSWORD)
    move(31 * 60)
    assert (await client.get("/account")).status_code == 303
    await sessions.STORE.delete_expired()
    assert await WebSession.count() == 1, "kept, to know whose a form posted with it was"
    move(31 * 60 + sessions.ENDED_KEPT_SECONDS)
    assert (await client.get("/account")).status_code == 303
    await sessions.STORE.delete_expired()
    assert await WebSession.count() == 0


async def test_twelve_hours_end_the_session_however_busy(
    client: httpx.AsyncClient, person: SignedUpPerson, monkeypatch: pytest.MonkeyPatch
) -> None:
    move = _at(monkeypatch)
    await sign_in(client, person.email, PASSWORD)
    for minutes in range(20, 12 * 60, 20):
        move(minutes * 60)
        assert (await client.get("/account")).status_code == 200, minutes
    move(12 * 3600)
    assert (await client.get("/account")).status_code == 303


async def test_sign_out_ends_the_server_session(
    client: httpx.AsyncClient, browser_client: httpx.AsyncClient, person: SignedUpPerson
) -> None:
    await sign_in(client, person.email, PASSWORD)
    old = client.cookies[SESSION_COOKIE]
    page = await client.get("/account")
    response = await client.post("/sign-out", data={"_csrf_token": csrf_token_of(page.text)})
    assert response.status_code == 303
    assert response.headers["location"] == "/sign-in?notice=signed-out"
    # The old cookie, replayed by someone who kept it, no longer works.
    browser_client.cookies.set(SESSION_COOKIE, old)
    assert (await browser_client.get("/account")).status_code == 303
    assert "session:signed_out" in await _tags()


async def test_a_deactivated_person_is_signed_out_on_the_next_request(
    client: httpx.AsyncClient, world: World, person: SignedUpPerson
) -> None:
    await sign_in(client, person.email, PASSWORD)
    assert (await client.get("/account")).status_code == 200
    deactivated = await client.patch(
        f"/v1/users/{person.user_id}", json={"active": False}, headers=world.admin.headers
    )
    assert deactivated.json()["active"] is False
    assert await WebSession.count() == 0
    response = await client.get("/account")
    assert response.status_code == 303
    assert response.headers["location"].startswith("/sign-in?next=/account")


async def test_a_session_token_id_names_the_session_not_a_token(
    client: httpx.AsyncClient, person: SignedUpPerson
) -> None:
    await sign_in(client, person.email, PASSWORD)
    page = await client.get("/account")
    assert page.status_code == 200
    assert client.cookies[SESSION_COOKIE] not in page.text


# --- a person's own API tokens ----------------------------------------------------------------


async def test_own_tokens_page_creates_and_revokes(
    client: httpx.AsyncClient, browser_client: httpx.AsyncClient, person: SignedUpPerson
) -> None:
    await sign_in(client, person.email, PASSWORD)
    page = await client.get("/account/tokens")
    assert page.status_code == 200
    assert "You have no API tokens." in page.text
    made = await client.post(
        "/account/tokens",
        data={"label": "ci job", "days": "30", "_csrf_token": csrf_token_of(page.text)},
    )
    assert made.status_code == 200
    secret = made.text.split('id="new-token">')[1].split("<")[0]
    assert secret.startswith("mkr_")
    assert "no-store" in made.headers["cache-control"]
    me = await browser_client.get("/v1/me", headers={"Authorization": f"Bearer {secret}"})
    assert me.status_code == 200
    assert me.json()["user"]["id"] == person.user_id
    # Shown once: the list never shows it again.
    listed = await client.get("/account/tokens")
    assert secret not in listed.text
    assert "ci job" in listed.text
    token_id = me.json()["token_id"]
    revoked = await client.post(
        f"/account/tokens/{token_id}/revoke", data={"_csrf_token": csrf_token_of(listed.text)}
    )
    assert revoked.status_code == 303
    after = await browser_client.get("/v1/me", headers={"Authorization": f"Bearer {secret}"})
    assert after.status_code == 401


@pytest.mark.parametrize(
    ("label", "days", "field"),
    [("", "30", "label"), ("ok", "0", "days"), ("ok", "366", "days"), ("ok", "ten", "days")],
)
async def test_own_tokens_form_errors(
    client: httpx.AsyncClient, person: SignedUpPerson, label: str, days: str, field: str
) -> None:
    await sign_in(client, person.email, PASSWORD)
    page = await client.get("/account/tokens")
    response = await client.post(
        "/account/tokens",
        data={"label": label, "days": days, "_csrf_token": csrf_token_of(page.text)},
    )
    assert response.status_code == 422
    assert f'href="#{field}"' in response.text


async def test_someone_elses_token_cannot_be_revoked_from_the_page(
    client: httpx.AsyncClient, world: World, person: SignedUpPerson
) -> None:
    await sign_in(client, person.email, PASSWORD)
    page = await client.get("/account/tokens")
    response = await client.post(
        f"/account/tokens/{world.supplier_a.token_id}/revoke",
        data={"_csrf_token": csrf_token_of(page.text)},
    )
    assert response.status_code == 404
    me = await client.get("/v1/me", headers=world.supplier_a.headers)
    assert me.status_code == 200


# --- inviting on the page ---------------------------------------------------------------------


async def test_a_supplier_admin_invites_on_the_page_into_its_own_organisation(
    client: httpx.AsyncClient, world: World, throttle_keys: str
) -> None:
    email = f"sa-{uuid.uuid4().hex[:8]}@a.example"
    await person_with_password(email, Role.supplier_admin, world.org_a, PASSWORD)
    await sign_in(client, email, PASSWORD)
    account = await client.get("/account")
    assert 'href="/account/invitations"' in account.text
    form = await client.get("/account/invitations")
    assert form.status_code == 200
    assert 'value="reviewer"' not in form.text
    assert world.org_b not in form.text
    invited = await client.post(
        "/account/invitations",
        data={
            "email": f"new-{uuid.uuid4().hex[:8]}@a.example",
            "name": "New Member",
            "role": "supplier_member",
            "organisation_id": world.org_a,
            "_csrf_token": csrf_token_of(form.text),
        },
    )
    assert invited.status_code == 200, invited.text
    assert "http://registry.test/invitations/" in invited.text
    foreign = await client.post(
        "/account/invitations",
        data={
            "email": f"new-{uuid.uuid4().hex[:8]}@b.example",
            "name": "Elsewhere",
            "role": "supplier_member",
            "organisation_id": world.org_b,
            "_csrf_token": csrf_token_of(form.text),
        },
    )
    assert foreign.status_code == 422
    assert 'href="#organisation_id"' in foreign.text
    assert "invitations/" not in foreign.text.split("<form")[0]


async def test_a_supplier_member_may_not_invite(
    client: httpx.AsyncClient, person: SignedUpPerson
) -> None:
    await sign_in(client, person.email, PASSWORD)
    response = await client.get("/account/invitations")
    assert response.status_code == 403
    assert response.headers["content-type"].startswith("text/html")
    assert 'href="/account/invitations"' not in (await client.get("/account")).text
