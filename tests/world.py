"""A small cast of organisations and users with tokens, made through the services."""

from __future__ import annotations

from dataclasses import dataclass

from registry.domain.identity import OrganisationKind, Role
from registry.services import identity
from registry.services.audit import SYSTEM
from schemas.identity import OrganisationCreate, TokenCreate, UserCreate


@dataclass(frozen=True)
class Person:
    """A user and one live token."""

    user_id: str
    token: str
    token_id: str
    organisation_id: str | None

    @property
    def headers(self) -> dict[str, str]:
        """The Authorization header that acts as this person."""
        return {"Authorization": f"Bearer {self.token}"}


@dataclass(frozen=True)
class World:
    """Everyone an authorization test needs."""

    admin: Person
    supplier_a: Person
    supplier_b: Person
    reviewer: Person
    reviewer_2: Person
    lead: Person
    org_a: str
    org_b: str
    assessor_org: str

    def by_name(self, name: str) -> Person | None:
        """The person called ``name`` in a test table; ``anonymous`` is None."""
        return None if name == "anonymous" else getattr(self, name)  # type: ignore[no-any-return]


async def make_person(email: str, role: Role, organisation_id: str | None) -> Person:
    """Create a user and a token for them."""
    user = await identity.create_user(
        SYSTEM,
        UserCreate(
            email=email, name=email.split("@")[0], role=role, organisation_id=organisation_id
        ),
    )
    token = await identity.create_token(SYSTEM, user.id, TokenCreate(label="test"))
    return Person(user.id, token.token, token.details.id, organisation_id)


async def make_world() -> World:
    """Build the cast in a clean database."""

    async def org(name: str, kind: OrganisationKind) -> str:
        return (
            await identity.create_organisation(SYSTEM, OrganisationCreate(name=name, kind=kind))
        ).id

    org_a = await org("Supplier A Ltd", OrganisationKind.supplier)
    org_b = await org("Supplier B Ltd", OrganisationKind.supplier)
    assessor = await org("Assessors LLP", OrganisationKind.assessor)
    return World(
        admin=await make_person("admin@test.example", Role.admin, None),
        supplier_a=await make_person("alice@a.example", Role.supplier_member, org_a),
        supplier_b=await make_person("bob@b.example", Role.supplier_member, org_b),
        reviewer=await make_person("rita@assess.example", Role.reviewer, assessor),
        reviewer_2=await make_person("ravi@assess.example", Role.reviewer, assessor),
        lead=await make_person("lena@assess.example", Role.lead_reviewer, assessor),
        org_a=org_a,
        org_b=org_b,
        assessor_org=assessor,
    )
