"""Invitations (DESIGN §1): who may invite whom, the one-time 72-hour link, and what a supplier
admin may do with its own organisation's members (and nobody else's: 404)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import httpx
import pytest

from registry import clock
from registry.domain.identity import Role
from registry.services import invitations
from registry.services.audit import SYSTEM
from registry.tables import AuditEvent, User
from schemas.identity import InvitationCreate
from tests.people import csrf_token_of, person_with_password
from tests.world import World, make_person

PASSWORD = "correct-cobalt-staple-42"


def _email() -> str:
    return f"invitee-{uuid.uuid4().hex[:10]}@people.example"


async def _supplier_admin(world: World) -> dict[str, str]:
    admin = await make_person(_email(), Role.supplier_admin, world.org_a)
    return admin.headers


@dataclass(frozen=True)
class InviteCase:
    """Who invites whom into where, and the status they get."""

    label: str
    inviter: str  # "admin", "supplier_admin" (of organisation A) or a World caller
    role: str
    organisation: str | None  # a World field name
    status: int


INVITE_CASES = [
    InviteCase("an admin invites a supplier member", "admin", "supplier_member", "org_a", 201),
    InviteCase("an admin invites a reviewer", "admin", "reviewer", "assessor_org", 201),
    InviteCase("an admin invites an admin", "admin", "admin", None, 201),
    InviteCase("an admin invites a reviewer into a supplier", "admin", "reviewer", "org_a", 422),
    InviteCase(
        "a supplier admin invites a member of its own organisation",
        "supplier_admin",
        "supplier_member",
        "org_a",
        201,
    ),
    InviteCase(
        "a supplier admin invites another supplier admin of its own organisation",
        "supplier_admin",
        "supplier_admin",
        "org_a",
        201,
    ),
    InviteCase(
        "a supplier admin invites into another organisation",
        "supplier_admin",
        "supplier_member",
        "org_b",
        404,
    ),
    InviteCase("a supplier admin invites a reviewer", "supplier_admin", "reviewer", "org_a", 403),
    InviteCase("a supplier member invites", "supplier_a", "supplier_member", "org_a", 403),
    InviteCase("a reviewer invites", "reviewer", "reviewer", "assessor_org", 403),
]


@pytest.mark.parametrize("case", INVITE_CASES, ids=lambda c: c.label)
async def test_who_may_invite_whom(
    client: httpx.AsyncClient, world: World, case: InviteCase
) -> None:
    if case.inviter == "supplier_admin":
        headers = await _supplier_admin(world)
    else:
        person = world.by_name(case.inviter)
        assert person is not None
        headers = person.headers
    body = {
        "email": _email(),
        "name": "Invited Person",
        "role": case.role,
        "organisation_id": getattr(world, case.organisation) if case.organisation else None,
    }
    response = await client.post("/v1/invitations", json=body, headers=headers)
    assert response.status_code == case.status, response.text
    if case.status == 201:
        created = response.json()
        assert created["link"].startswith("http://registry.test/invitations/")
        assert created["user"]["active"] is True
        assert created["user"]["role"] == case.role
        tags = await AuditEvent.select(AuditEvent.tag)
        assert {"tag": "invitation:created"} in tags
    else:
        assert not await User.exists().where(User.email == body["email"])


async def test_the_link_works_once(client: httpx.AsyncClient, world: World) -> None:
    invited = await invitations.invite(
        SYSTEM,
        None,
        InvitationCreate(
            email=_email(), name="Pat", role=Role.supplier_member, organisation_id=world.org_a
        ),
    )
    path = f"/invitations/{invited.token}"
    form = await client.get(path)
    assert form.status_code == 200
    assert "Set your password" in form.text
    set_it = await client.post(
        path, data={"password": PASSWORD, "_csrf_token": csrf_token_of(form.text)}
    )
    assert set_it.status_code == 303
    assert set_it.headers["location"] == "/sign-in?notice=password-set"
    again = await client.get(path)
    assert again.status_code == 410
    assert "already been used" in again.text
    second = await client.post(
        path, data={"password": "another-good-password", "_csrf_token": csrf_token_of(form.text)}
    )
    assert second.status_code == 410
    row = await User.select(User.password_hash).where(User.id == uuid.UUID(invited.out.user.id))
    assert row[0]["password_hash"].startswith("$argon2id$")
    assert PASSWORD not in str(await AuditEvent.select())


async def test_the_link_expires_after_72_hours(
    client: httpx.AsyncClient, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    start = clock.now()
    invited = await invitations.invite(
        SYSTEM,
        None,
        InvitationCreate(
            email=_email(), name="Pat", role=Role.supplier_member, organisation_id=world.org_a
        ),
    )
    path = f"/invitations/{invited.token}"
    monkeypatch.setattr(clock, "now", lambda: start + 72 * 3600 - 1)
    assert (await client.get(path)).status_code == 200
    monkeypatch.setattr(clock, "now", lambda: start + 72 * 3600)
    expired = await client.get(path)
    assert expired.status_code == 410
    assert "expired" in expired.text


async def test_an_unknown_link_is_404_as_a_page(client: httpx.AsyncClient, db: None) -> None:
    response = await client.get("/invitations/not-a-real-link")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/html")
    assert "does not work" in response.text


async def test_a_new_link_replaces_the_old_and_a_password_blocks_another(
    client: httpx.AsyncClient, world: World
) -> None:
    request = InvitationCreate(
        email=_email(), name="Pat", role=Role.supplier_member, organisation_id=world.org_a
    )
    first = await invitations.invite(SYSTEM, None, request)
    second = await invitations.invite(SYSTEM, None, request)
    assert first.out.user.id == second.out.user.id
    assert (await client.get(f"/invitations/{first.token}")).status_code == 410
    assert (await client.get(f"/invitations/{second.token}")).status_code == 200
    await invitations.accept(second.token, PASSWORD)
    response = await client.post(
        "/v1/invitations",
        json={
            "email": request.email,
            "name": "Pat",
            "role": "supplier_member",
            "organisation_id": world.org_a,
        },
        headers=world.admin.headers,
    )
    assert response.status_code == 409


async def test_a_weak_password_is_refused_on_the_page(
    client: httpx.AsyncClient, world: World
) -> None:
    invited = await invitations.invite(
        SYSTEM,
        None,
        InvitationCreate(
            email=_email(), name="Pat", role=Role.supplier_member, organisation_id=world.org_a
        ),
    )
    path = f"/invitations/{invited.token}"
    form = await client.get(path)
    response = await client.post(
        path, data={"password": "password1234", "_csrf_token": csrf_token_of(form.text)}
    )
    assert response.status_code == 422
    assert "commonly used" in response.text
    assert 'class="error-summary"' in response.text
    assert (await client.get(path)).status_code == 200  # still usable


async def test_a_supplier_admin_manages_its_own_members_only(
    client: httpx.AsyncClient, world: World
) -> None:
    headers = await _supplier_admin(world)
    own, foreign = world.supplier_a, world.supplier_b
    assert (await client.get(f"/v1/users/{own.user_id}/tokens", headers=headers)).is_success
    assert (
        await client.get(f"/v1/users/{foreign.user_id}/tokens", headers=headers)
    ).status_code == 404
    assert (
        await client.post(f"/v1/users/{own.user_id}/tokens", json={"label": "ci"}, headers=headers)
    ).status_code == 201
    assert (
        await client.post(
            f"/v1/users/{foreign.user_id}/tokens", json={"label": "ci"}, headers=headers
        )
    ).status_code == 404
    assert (
        await client.delete(f"/v1/tokens/{foreign.token_id}", headers=headers)
    ).status_code == 404
    assert (
        await client.patch(f"/v1/users/{foreign.user_id}", json={"active": False}, headers=headers)
    ).status_code == 404
    assert (
        await client.patch(f"/v1/users/{own.user_id}", json={"active": False}, headers=headers)
    ).status_code == 200
    # Creating users directly stays with admins.
    assert (
        await client.post(
            "/v1/users",
            json={
                "email": _email(),
                "name": "X",
                "role": "supplier_member",
                "organisation_id": world.org_a,
            },
            headers=headers,
        )
    ).status_code == 403


async def test_a_supplier_admin_acts_as_a_supplier_member(
    client: httpx.AsyncClient, world: World
) -> None:
    headers = await _supplier_admin(world)
    me = (await client.get("/v1/me", headers=headers)).json()
    assert me["roles"] == ["supplier_admin", "supplier_member"]
    assert (await client.get("/v1/products", headers=headers)).status_code == 200


async def test_the_people_helper_makes_a_person_who_can_sign_in(world: World) -> None:
    person = await person_with_password(_email(), Role.reviewer, world.assessor_org, PASSWORD)
    assert person.role is Role.reviewer
