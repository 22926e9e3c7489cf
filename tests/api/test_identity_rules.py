"""Identity rules over HTTP: an admin belongs to no organisation, and names read as stored.

Names of organisations, users, products and token labels refuse the bidirectional controls
that make text display in another order than stored, and names in which nothing shows.
"""

from __future__ import annotations

from dataclasses import dataclass

import httpx
import pytest

from tests.world import World

PROBLEM_JSON = "application/problem+json"


@dataclass(frozen=True)
class NameCase:
    name: str
    value: str
    accepted: bool


NAME_CASES = [
    NameCase("a plain name", "Acme Health", accepted=True),
    NameCase("accented letters", "Clinique Générale", accepted=True),
    NameCase("a right-to-left script", "عيادة الشفاء", accepted=True),
    NameCase("an emoji with a joiner", "Care 👩‍⚕️", accepted=True),
    NameCase("a right-to-left override", "Acme \u202eyxalag", accepted=False),
    NameCase("a left-to-right isolate", "\u2066Acme\u2069", accepted=False),
    NameCase("a lone zero-width joiner", "\u200d", accepted=False),
    NameCase("only invisible format characters", "\u200b\u2060\ufeff", accepted=False),
    NameCase("a Hangul filler", "\u3164", accepted=False),
    NameCase("a lone combining accent", "\u0301", accepted=False),
    NameCase("a trailing newline", "Acme\n", accepted=False),
]


@dataclass(frozen=True)
class Where:
    """One place a name is typed: who posts it, to which path, in which field."""

    label: str
    path: str
    field: str
    base: dict[str, object]
    as_admin: bool


def _places(world: World) -> list[Where]:
    profile = {
        "esf_tier": "A",
        "medical_device_class": "none",
        "processes_personal_data": False,
        "integrates_with_clinical_systems": False,
        "patient_facing": False,
    }
    return [
        Where("organisation", "/v1/organisations", "name", {"kind": "supplier"}, as_admin=True),
        Where(
            "user",
            "/v1/users",
            "name",
            {"email": "n@acme.example", "role": "supplier_member", "organisation_id": world.org_a},
            as_admin=True,
        ),
        Where(
            "token label",
            f"/v1/users/{world.supplier_a.user_id}/tokens",
            "label",
            {},
            as_admin=True,
        ),
        Where(
            "product",
            "/v1/products",
            "name",
            {"intended_purpose": "Booking.", "profile": profile},
            as_admin=False,
        ),
    ]


@pytest.mark.parametrize("case", NAME_CASES, ids=lambda c: c.name)
async def test_names_refuse_bidi_controls_and_invisible_only_text(
    client: httpx.AsyncClient, world: World, case: NameCase
) -> None:
    for place in _places(world):
        who = world.admin if place.as_admin else world.supplier_a
        body = {**place.base, place.field: case.value}
        response = await client.post(place.path, json=body, headers=who.headers)
        if case.accepted:
            assert response.status_code == 201, (place.label, response.text)
            created = response.json()
            assert created.get("details", created)[place.field] == case.value, place.label
            continue
        assert response.status_code == 422, (place.label, response.text)
        assert response.headers["content-type"] == PROBLEM_JSON
        problem = response.json()
        assert problem["field"] == place.field, place.label
        assert any(
            words in problem["detail"]
            for words in ("bidirectional", "no visible character", "on one line")
        ), problem["detail"]


async def test_an_admin_belongs_to_no_organisation(client: httpx.AsyncClient, world: World) -> None:
    for organisation in (world.org_a, world.assessor_org):
        response = await client.post(
            "/v1/users",
            json={
                "email": f"admin-{organisation[:8]}@test.example",
                "name": "Inside admin",
                "role": "admin",
                "organisation_id": organisation,
            },
            headers=world.admin.headers,
        )
        assert response.status_code == 422, response.text
        assert response.json()["field"] == "organisation_id"
        assert "belongs to no organisation" in response.json()["detail"]
    outside = await client.post(
        "/v1/users",
        json={"email": "admin-2@test.example", "name": "Second admin", "role": "admin"},
        headers=world.admin.headers,
    )
    assert outside.status_code == 201, outside.text
    assert outside.json()["organisation_id"] is None
