"""The authorization matrix (DESIGN §1, §10): every endpoint × every caller, each cell asserted.

One row per endpoint (and per own/foreign object where the answer depends on whose it is); every
row names the status each caller gets. Adding an endpoint means adding a row here: the last test
fails for any route of the app that no row covers.

Rules the table encodes:
- no token is 401 everywhere except ``/health`` and the public criteria sets;
- an endpoint for one role is 403 for every other role (a lead reviewer is also a reviewer);
- a member reads their own organisation (200) and never learns a foreign one exists (404, not 403);
  an admin reads any;
- a supplier member acts only on its own organisation's products and dossiers: a foreign one is
  404, never 403; a dossier is read by its own organisation, by an admin once it was submitted,
  and by a reviewer only while holding a live claim on it or after reviewing it: 404 for the rest;
- a review is seen and worked on only by the reviewer who claimed it: 404 for every other reviewer;
- a refused request changes nothing, and a list shows nobody what they may not read.

Every case starts from a clean database with the World in it and what the row's ``setup`` scene
makes (tests/authz_fixtures.py). A row whose request changes state (submit, claim, decide…) plays
its scene afresh in every case, so no change reaches another cell. A row whose request only reads
(every GET, and the verification POSTs) plays its scene once per test process and has the
result copied into each case's clean database: the certificate rows would otherwise issue a
certificate (a PDF rendered and signed) for every cell. Such a row must leave the audit trail as
it was for every caller, which holds it to only reading.
"""

from __future__ import annotations

import base64
import re
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx
import msgspec
import pytest
from litestar.routes import HTTPRoute

from registry.app import create_app
from registry.db import write_transaction
from registry.domain.identity import Role
from registry.services import invitations, sessions
from registry.services.audit import SYSTEM
from registry.tables import AuditEvent
from registry.web.auth import SESSION_COOKIE
from schemas.identity import InvitationCreate
from tests import authz_fixtures as scene
from tests.authz_fixtures import CODE, DOCUMENT_TYPE, Scene, SceneSnapshots, WorldSnapshot
from tests.people import person_with_password
from tests.supplier_flow import TIER_A_ADMIN, tiny_pdf
from tests.tiny_set import TINY
from tests.world import Person, World

CALLERS = ("anonymous", "supplier_a", "supplier_b", "reviewer", "lead", "admin")
PROBLEM_JSON = "application/problem+json"

# What a path, header or body template may name: the World's fields and the ids a scene made.
Ids = Mapping[str, Any]
Body = Callable[[Ids], dict[str, Any]]


@dataclass(frozen=True)
class Endpoint:
    """One operation of the API, as the matrix calls it.

    ``path`` is a template over the World's fields (``{org_a}``, ``{reviewer_2.user_id}``) and
    the ids the ``setup`` scene returns (``{dossier}``, ``{review}``), and may end in a query
    string (``?state=open``), which the route check ignores; so are ``headers``.
    ``body`` builds a fresh JSON body per request, so creating things never collides; ``form``
    builds a multipart body instead (httpx's ``files`` and ``data``). When ``shows`` names an id,
    a 200 must contain it for the callers in ``shown_to`` and for nobody else (lists never leak).
    ``read_only`` says the request changes nothing for any caller (by default: a GET), so the
    row's cases share one playing of its scene (see the module's docstring).
    """

    name: str
    method: str
    path: str
    expected: dict[str, int]
    body: Body | None = field(default=None)
    setup: Scene | None = None
    headers: dict[str, str] = field(default_factory=dict)
    form: Body | None = None
    shows: str | None = None
    shown_to: frozenset[str] = frozenset()
    read_only: bool | None = None
    # A page for people signed in (``/review/…``): callers come with a session cookie instead
    # of a token, and refusals are pages (anonymous: 303 to /sign-in), not problem documents.
    session: bool = False
    # A page anyone may use signed in or not (``/sign-in``, ``/invitations/…``): its redirects
    # are not the sign-in page's.
    public: bool = False

    def url(self, ids: Ids) -> str:
        return self.path.format_map(ids)

    @property
    def only_reads(self) -> bool:
        return self.method == "GET" if self.read_only is None else self.read_only


def everyone(status: int) -> dict[str, int]:
    """Public: every caller, token or not, gets ``status``."""
    return dict.fromkeys(CALLERS, status)


def any_token(status: int) -> dict[str, int]:
    """Any valid token gets ``status``; no token is 401."""
    return {**dict.fromkeys(CALLERS, status), "anonymous": 401}


def tokens(default: int, **statuses: int) -> dict[str, int]:
    """Every token gets ``default`` except the callers named; no token is 401."""
    return {**any_token(default), **statuses}


def admin_only(status: int) -> dict[str, int]:
    """Admins get ``status``; every other role 403; no token 401."""
    return tokens(403, admin=status)


def members_of(status_for_members: int, *members: str) -> dict[str, int]:
    """An organisation's own members and admins get the status; everyone else 404; no token 401."""
    return tokens(404, admin=status_for_members, **dict.fromkeys(members, status_for_members))


def suppliers(status: int) -> dict[str, int]:
    """A supplier-only operation on the caller's own organisation: other roles 403."""
    return tokens(403, supplier_a=status, supplier_b=status)


def supplier_a_acts(status: int) -> dict[str, int]:
    """A supplier-only operation on supplier A's object: A gets ``status``; B never learns it
    exists (404); other roles 403."""
    return tokens(403, supplier_a=status, supplier_b=404)


def readers(**statuses: int) -> dict[str, int]:
    """A dossier read open to every role: the callers named get their status, every other token
    404 (the dossier is none of their business, and they do not learn it exists)."""
    return tokens(404, **statuses)


def reviewers(status: int) -> dict[str, int]:
    """A reviewer operation: reviewers and lead reviewers get ``status``; other roles 403."""
    return tokens(403, reviewer=status, lead=status)


def review_of(holder: str, status: int) -> dict[str, int]:
    """A review claimed by ``holder``: they get ``status``, the other reviewer 404, other roles
    403."""
    return tokens(403, **{"reviewer": 404, "lead": 404, holder: status})


def leads(status: int) -> dict[str, int]:
    """A lead reviewer operation: leads get ``status``; every other role (reviewers too) 403."""
    return tokens(403, lead=status)


def page_for(status: int, *roles: str, **statuses: int) -> dict[str, int]:
    """A signed-in page: ``roles`` get ``status``, other roles 403, anonymous 303 (sign in)."""
    return {
        **dict.fromkeys(CALLERS, 403),
        "anonymous": 303,
        **dict.fromkeys(roles, status),
        **statuses,
    }


def signed_in(status: int) -> dict[str, int]:
    """A page for anyone signed in (their own account): every session gets ``status``,
    anonymous 303 (to the sign-in page)."""
    return {**dict.fromkeys(CALLERS, status), "anonymous": 303}


async def invitation_of_a(client: httpx.AsyncClient, world: World) -> Ids:
    """A usable invitation link into supplier A."""
    invited = await invitations.invite(
        SYSTEM,
        None,
        InvitationCreate(
            email=f"matrix-{_unique()}@a.example",
            name="Invited",
            role=Role.supplier_member,
            organisation_id=world.org_a,
        ),
    )
    return {"invitation": invited.token}


async def person_of_a_with_password(client: httpx.AsyncClient, world: World) -> Ids:
    """A supplier member of A who set a password."""
    person = await person_with_password(
        f"matrix-{_unique()}@a.example", Role.supplier_member, world.org_a, MATRIX_PASSWORD
    )
    return {"signer": person.email}


MATRIX_PASSWORD = "matrix-lantern-cobalt-9"


def section_form(_: Ids) -> dict[str, Any]:
    return {"data": {f"result-{CODE}": "pass", f"rationale-{CODE}": "Seen."}}


def score_form(_: Ids) -> dict[str, Any]:
    return {"data": {"result": "pass", "rationale": "Seen."}}


def submit_form(_: Ids) -> dict[str, Any]:
    return {"data": {"recommendation": "approve", "summary": "Fine."}}


def decide_form(_: Ids) -> dict[str, Any]:
    return {
        "data": {
            f"final-{CODE}": "fail",
            f"rationale-{CODE}": "No safety case.",
            "recommendation": "reject",
            "summary": "No safety case.",
        }
    }


def _unique() -> str:
    return uuid.uuid4().hex[:12]


def new_organisation(_: Ids) -> dict[str, Any]:
    return {"name": f"Matrix Org {_unique()}", "kind": "supplier"}


def new_invitation(ids: Ids) -> dict[str, Any]:
    return {
        "email": f"matrix-{_unique()}@a.example",
        "name": "Matrix",
        "role": "supplier_member",
        "organisation_id": ids["org_a"],
    }


def new_admin_user(_: Ids) -> dict[str, Any]:
    return {"email": f"matrix-{_unique()}@test.example", "name": "Matrix", "role": "admin"}


def new_criteria_set(_: Ids) -> dict[str, Any]:
    body: dict[str, Any] = msgspec.to_builtins(
        msgspec.structs.replace(TINY, key=f"matrix-{_unique()}")
    )
    return body


def new_product(_: Ids) -> dict[str, Any]:
    return {"name": "Matrix", "intended_purpose": "Booking.", "profile": TIER_A_ADMIN}


def new_tiny_dossier(ids: Ids) -> dict[str, Any]:
    return {
        "product_id": ids["product"],
        "product_version": "1.0",
        "criteria_set_key": "tiny",
        "criteria_set_version": 1,
    }


def evidence_form(_: Ids) -> dict[str, Any]:
    return {
        "files": {"file": ("case.pdf", tiny_pdf("matrix upload"), "application/pdf")},
        "data": {"document_type": DOCUMENT_TYPE, "criteria": CODE},
    }


def final_scores(_: Ids) -> dict[str, Any]:
    return {
        "recommendation": "reject",
        "summary": "No safety case.",
        "scores": {CODE: {"gate_pass": False, "rationale": "No safety case."}},
    }


def certificate_pdf_form(ids: Ids) -> dict[str, Any]:
    pdf = base64.b64decode(ids["pdf"])
    return {"files": {"file": ("certificate.pdf", pdf, "application/pdf")}}


def statement_body(ids: Ids) -> dict[str, Any]:
    return {"text": ids["statement"]}


def suspension(_: Ids) -> dict[str, Any]:
    return {"action": "suspend", "reason": "safety_concern", "note": "Suspended by the matrix."}


UNKNOWN_ID = "00000000-0000-4000-8000-000000000000"
DOSSIER = "/v1/dossiers/{dossier}"
REVIEW = "/v1/reviews/{review}"
CERTIFICATE = "/v1/certificates/{certificate}"

MATRIX = [
    Endpoint("health", "GET", "/health", everyone(200)),
    Endpoint("who am I", "GET", "/v1/me", any_token(200)),
    Endpoint(
        "create an organisation", "POST", "/v1/organisations", admin_only(201), new_organisation
    ),
    Endpoint("list organisations", "GET", "/v1/organisations", admin_only(200)),
    Endpoint(
        "read supplier A's organisation",
        "GET",
        "/v1/organisations/{org_a}",
        members_of(200, "supplier_a"),
    ),
    Endpoint(
        "read supplier B's organisation",
        "GET",
        "/v1/organisations/{org_b}",
        members_of(200, "supplier_b"),
    ),
    Endpoint(
        "read the assessors' organisation",
        "GET",
        "/v1/organisations/{assessor_org}",
        members_of(200, "reviewer", "lead"),
    ),
    Endpoint(
        "read an organisation that does not exist",
        "GET",
        f"/v1/organisations/{UNKNOWN_ID}",
        members_of(404),
    ),
    Endpoint("create a user", "POST", "/v1/users", admin_only(201), new_admin_user),
    Endpoint(
        "deactivate a user",
        "PATCH",
        "/v1/users/{reviewer_2.user_id}",
        admin_only(200),
        lambda _: {"active": False},
    ),
    Endpoint(
        "list a user's tokens", "GET", "/v1/users/{supplier_a.user_id}/tokens", admin_only(200)
    ),
    Endpoint(
        "issue a token",
        "POST",
        "/v1/users/{reviewer_2.user_id}/tokens",
        admin_only(201),
        lambda _: {"label": "matrix"},
    ),
    Endpoint("revoke a token", "DELETE", "/v1/tokens/{reviewer_2.token_id}", admin_only(200)),
    Endpoint("read the audit trail", "GET", "/v1/audit", admin_only(200)),
    # A supplier admin (not a caller here) invites into its own organisation only: see
    # tests/api/test_invitations.py.
    Endpoint("invite a person", "POST", "/v1/invitations", admin_only(201), new_invitation),
    # --- criteria sets: public reads, admin publishing -------------------------------------
    Endpoint(
        "list criteria sets",
        "GET",
        "/v1/criteria-sets",
        everyone(200),
        setup=scene.tiny_published,
    ),
    Endpoint(
        "read a published criteria set",
        "GET",
        "/v1/criteria-sets/tiny/1",
        everyone(200),
        setup=scene.tiny_published,
    ),
    Endpoint(
        "read a criteria set that does not exist",
        "GET",
        "/v1/criteria-sets/no-such-set/1",
        everyone(404),
    ),
    Endpoint(
        "publish a criteria set", "POST", "/v1/criteria-sets", admin_only(201), new_criteria_set
    ),
    # --- products: supplier members, their own organisation's ------------------------------
    Endpoint("create a product", "POST", "/v1/products", suppliers(201), new_product),
    Endpoint(
        "list products",
        "GET",
        "/v1/products",
        suppliers(200),
        setup=scene.product_of_a,
        shows="{product}",
        shown_to=frozenset({"supplier_a"}),
    ),
    Endpoint(
        "read supplier A's product",
        "GET",
        "/v1/products/{product}",
        supplier_a_acts(200),
        setup=scene.product_of_a,
    ),
    Endpoint(
        "read a product that does not exist",
        "GET",
        f"/v1/products/{UNKNOWN_ID}",
        suppliers(404),
    ),
    # --- dossiers: supplier members act on their own; readers per DESIGN §1 -----------------
    Endpoint(
        "start a dossier for supplier A's product",
        "POST",
        "/v1/dossiers",
        supplier_a_acts(201),
        new_tiny_dossier,
        setup=scene.product_of_a,
    ),
    Endpoint(
        "list dossiers",
        "GET",
        "/v1/dossiers",
        suppliers(200),
        setup=scene.draft_of_a,
        shows="{dossier}",
        shown_to=frozenset({"supplier_a"}),
    ),
    Endpoint(
        "read supplier A's draft dossier",
        "GET",
        DOSSIER,
        readers(supplier_a=200),
        setup=scene.draft_of_a,
    ),
    Endpoint(
        "read supplier B's draft dossier",
        "GET",
        DOSSIER,
        readers(supplier_b=200),
        setup=scene.draft_of_b,
    ),
    Endpoint(
        "read supplier A's submitted dossier nobody claimed",
        "GET",
        DOSSIER,
        readers(supplier_a=200, admin=200),
        setup=scene.submitted_of_a,
    ),
    Endpoint(
        "read supplier A's dossier under the reviewer's claim",
        "GET",
        DOSSIER,
        readers(supplier_a=200, reviewer=200, admin=200),
        setup=scene.claimed_by_reviewer,
    ),
    Endpoint(
        "read supplier A's dossier under the lead's claim",
        "GET",
        DOSSIER,
        readers(supplier_a=200, lead=200, admin=200),
        setup=scene.claimed_by_lead,
    ),
    Endpoint(
        "read supplier A's dossier the reviewer has reviewed",
        "GET",
        DOSSIER,
        readers(supplier_a=200, reviewer=200, admin=200),
        setup=scene.reviewed_by_reviewer,
    ),
    Endpoint(
        # Both reviewers may still read what they reviewed, and the lead who is to decide the
        # case reads what it must score.
        "read supplier A's dossier in moderation",
        "GET",
        DOSSIER,
        readers(supplier_a=200, reviewer=200, lead=200, admin=200),
        setup=scene.moderation_case,
    ),
    Endpoint(
        "change supplier A's draft dossier",
        "PATCH",
        DOSSIER,
        supplier_a_acts(200),
        lambda _: {"summary": "Changed by the matrix."},
        setup=scene.draft_of_a,
        headers={"If-Match": "{etag}"},
    ),
    Endpoint(
        # Without If-Match the owner learns the precondition (428); B still learns nothing (404).
        "change supplier A's draft dossier without If-Match",
        "PATCH",
        DOSSIER,
        supplier_a_acts(428),
        lambda _: {"summary": "Changed by the matrix."},
        setup=scene.draft_of_a,
    ),
    Endpoint(
        "answer in supplier A's draft dossier",
        "PUT",
        DOSSIER + f"/answers/{CODE}",
        supplier_a_acts(200),
        lambda _: {"value": True},
        setup=scene.draft_of_a,
    ),
    Endpoint(
        # A submitted revision is frozen: its owner gets 409, B still 404.
        "answer in supplier A's submitted dossier",
        "PUT",
        DOSSIER + f"/answers/{CODE}",
        supplier_a_acts(409),
        lambda _: {"value": True},
        setup=scene.submitted_of_a,
    ),
    Endpoint(
        "check supplier A's draft dossier for completeness",
        "GET",
        DOSSIER + "/completeness",
        readers(supplier_a=200),
        setup=scene.draft_of_a,
    ),
    Endpoint(
        "check supplier A's dossier under the reviewer's claim for completeness",
        "GET",
        DOSSIER + "/completeness",
        readers(supplier_a=200, reviewer=200, admin=200),
        setup=scene.claimed_by_reviewer,
    ),
    Endpoint(
        "submit supplier A's draft dossier",
        "POST",
        DOSSIER + "/submit",
        supplier_a_acts(200),
        setup=scene.complete_draft_of_a,
    ),
    Endpoint(
        "withdraw supplier A's submission nobody claimed",
        "POST",
        DOSSIER + "/withdraw",
        supplier_a_acts(200),
        setup=scene.submitted_of_a,
    ),
    Endpoint(
        # Once claimed it cannot be withdrawn: its owner gets 409, B still 404.
        "withdraw supplier A's submission under the reviewer's claim",
        "POST",
        DOSSIER + "/withdraw",
        supplier_a_acts(409),
        setup=scene.claimed_by_reviewer,
    ),
    Endpoint(
        "list the revisions of supplier A's draft dossier",
        "GET",
        DOSSIER + "/revisions",
        readers(supplier_a=200),
        setup=scene.draft_of_a,
    ),
    Endpoint(
        "list the revisions of supplier A's dossier under the reviewer's claim",
        "GET",
        DOSSIER + "/revisions",
        readers(supplier_a=200, reviewer=200, admin=200),
        setup=scene.claimed_by_reviewer,
    ),
    Endpoint(
        "diff supplier A's second revision under the reviewer's claim",
        "GET",
        DOSSIER + "/revisions/2/diff",
        readers(supplier_a=200, reviewer=200, admin=200),
        setup=scene.second_round_claimed_by_reviewer,
    ),
    Endpoint(
        # Feedback is for the supplier (and admins), never for reviewers (403): A reads its
        # decided revision, B never learns it exists.
        "read the feedback on supplier A's decided revision",
        "GET",
        DOSSIER + "/revisions/1/feedback",
        tokens(403, supplier_a=200, supplier_b=404, admin=200),
        setup=scene.rejected_of_a,
    ),
    Endpoint(
        # Not decided yet: the owner and admins learn there is no feedback yet (409).
        "read the feedback on supplier A's submitted revision",
        "GET",
        DOSSIER + "/revisions/1/feedback",
        tokens(403, supplier_a=409, supplier_b=404, admin=409),
        setup=scene.submitted_of_a,
    ),
    Endpoint(
        # A draft is the supplier's own work: its owner hears why there is no feedback yet (409),
        # an admin does not learn it exists (404), as with draft dossiers.
        "read the feedback on supplier A's draft revision",
        "GET",
        DOSSIER + "/revisions/1/feedback",
        tokens(403, supplier_a=409, supplier_b=404, admin=404),
        setup=scene.draft_of_a,
    ),
    Endpoint(
        "read the feedback on a revision supplier A's dossier does not have",
        "GET",
        DOSSIER + "/revisions/9/feedback",
        tokens(403, supplier_a=404, supplier_b=404, admin=404),
        setup=scene.rejected_of_a,
    ),
    Endpoint(
        "upload evidence to supplier A's draft dossier",
        "POST",
        DOSSIER + "/evidence",
        supplier_a_acts(201),
        form=evidence_form,
        setup=scene.draft_of_a,
    ),
    Endpoint(
        "download evidence of supplier A's draft dossier",
        "GET",
        DOSSIER + "/evidence/{evidence}",
        readers(supplier_a=200),
        setup=scene.draft_with_evidence_of_a,
    ),
    Endpoint(
        "download evidence of supplier A's dossier under the reviewer's claim",
        "GET",
        DOSSIER + "/evidence/{evidence}",
        readers(supplier_a=200, reviewer=200, admin=200),
        setup=scene.claimed_with_evidence_by_reviewer,
    ),
    Endpoint(
        # An evidence id only counts inside its own dossier: A's dossier does not lend access.
        "download supplier B's evidence through supplier A's dossier",
        "GET",
        DOSSIER + "/evidence/{evidence}",
        readers(),
        setup=scene.evidence_of_b_beside_a_draft,
    ),
    Endpoint(
        "delete evidence from supplier A's draft dossier",
        "DELETE",
        DOSSIER + "/evidence/{evidence}",
        supplier_a_acts(204),
        setup=scene.draft_with_evidence_of_a,
    ),
    Endpoint(
        # Evidence of a submitted revision never changes: its owner gets 409, B still 404.
        "delete evidence from supplier A's submitted dossier",
        "DELETE",
        DOSSIER + "/evidence/{evidence}",
        supplier_a_acts(409),
        setup=scene.submitted_with_evidence_of_a,
    ),
    Endpoint(
        "delete supplier B's evidence through supplier A's dossier",
        "DELETE",
        DOSSIER + "/evidence/{evidence}",
        tokens(403, supplier_a=404, supplier_b=404),
        setup=scene.evidence_of_b_beside_a_draft,
    ),
    # --- the queue and reviews: reviewers (a lead reviewer is one too) ----------------------
    Endpoint(
        "list the review queue",
        "GET",
        "/v1/queue",
        reviewers(200),
        setup=scene.submitted_of_a,
        shows="{dossier}",
        shown_to=frozenset({"reviewer", "lead"}),
    ),
    Endpoint(
        "list the review queue with a conflict of interest declared",
        "GET",
        "/v1/queue",
        reviewers(200),
        setup=scene.reviewer_conflicted_with_a,
        shows="{dossier}",
        shown_to=frozenset({"lead"}),
    ),
    Endpoint(
        "claim the next review",
        "POST",
        "/v1/queue/claim",
        reviewers(200),
        setup=scene.submitted_of_a,
        shows="{dossier}",
        shown_to=frozenset({"reviewer", "lead"}),
    ),
    Endpoint("claim from an empty queue", "POST", "/v1/queue/claim", reviewers(204)),
    Endpoint(
        # The only waiting dossier is of a supplier the reviewer is conflicted with: nothing (204).
        "claim with a conflict of interest declared",
        "POST",
        "/v1/queue/claim",
        tokens(403, reviewer=204, lead=200),
        setup=scene.reviewer_conflicted_with_a,
    ),
    Endpoint(
        "list the reviewer's reviews",
        "GET",
        "/v1/reviews",
        reviewers(200),
        setup=scene.claimed_by_reviewer,
        shows="{review}",
        shown_to=frozenset({"reviewer"}),
    ),
    Endpoint(
        "list the reviewer's open reviews",
        "GET",
        "/v1/reviews?state=open",
        reviewers(200),
        setup=scene.claimed_by_reviewer,
        shows="{review}",
        shown_to=frozenset({"reviewer"}),
    ),
    Endpoint(
        "list the reviewer's submitted reviews",
        "GET",
        "/v1/reviews?state=submitted",
        reviewers(200),
        setup=scene.reviewed_by_reviewer,
        shows="{review}",
        shown_to=frozenset({"reviewer"}),
    ),
    Endpoint(
        # A finished review is no longer open: the filter shows it to nobody, its holder too.
        "list open reviews after the reviewer submitted theirs",
        "GET",
        "/v1/reviews?state=open",
        reviewers(200),
        setup=scene.reviewed_by_reviewer,
        shows="{review}",
        shown_to=frozenset(),
    ),
    Endpoint(
        "list the lead's reviews",
        "GET",
        "/v1/reviews",
        reviewers(200),
        setup=scene.claimed_by_lead,
        shows="{review}",
        shown_to=frozenset({"lead"}),
    ),
    Endpoint(
        "read the reviewer's review",
        "GET",
        REVIEW,
        review_of("reviewer", 200),
        setup=scene.claimed_by_reviewer,
    ),
    Endpoint(
        "read the lead's review",
        "GET",
        REVIEW,
        review_of("lead", 200),
        setup=scene.claimed_by_lead,
    ),
    Endpoint(
        "renew the reviewer's claim",
        "POST",
        REVIEW + "/renew",
        review_of("reviewer", 200),
        setup=scene.claimed_by_reviewer,
    ),
    Endpoint(
        "release the reviewer's claim",
        "POST",
        REVIEW + "/release",
        review_of("reviewer", 204),
        setup=scene.claimed_by_reviewer,
    ),
    Endpoint(
        "score in the reviewer's review",
        "PUT",
        REVIEW + f"/scores/{CODE}",
        review_of("reviewer", 200),
        lambda _: {"gate_pass": True, "rationale": "Checked."},
        setup=scene.claimed_by_reviewer,
    ),
    Endpoint(
        "submit the reviewer's review",
        "POST",
        REVIEW + "/submit",
        review_of("reviewer", 200),
        lambda _: {"recommendation": "approve", "summary": "Reviewed."},
        setup=scene.scored_by_reviewer,
    ),
    Endpoint(
        "declare conflicts of interest",
        "POST",
        "/v1/reviewers/me/interests",
        reviewers(200),
        lambda ids: {"organisation_ids": [ids["org_b"]]},
    ),
    # --- moderation: lead reviewers ---------------------------------------------------------
    Endpoint(
        "list moderation cases",
        "GET",
        "/v1/moderation",
        leads(200),
        setup=scene.moderation_case,
        shows="{case}",
        shown_to=frozenset({"lead"}),
    ),
    Endpoint(
        "decide a moderation case",
        "POST",
        "/v1/moderation/{case}/decide",
        leads(200),
        final_scores,
        setup=scene.moderation_case,
    ),
    Endpoint(
        "list moderation cases when the lead reviewed the only one",
        "GET",
        "/v1/moderation",
        leads(200),
        setup=scene.moderation_case_reviewed_by_lead,
        shows="{case}",
        shown_to=frozenset(),
    ),
    Endpoint(
        "decide a moderation case the lead reviewed",
        "POST",
        "/v1/moderation/{case}/decide",
        tokens(403, lead=404),
        final_scores,
        setup=scene.moderation_case_reviewed_by_lead,
    ),
    # --- certificates, trust material, verification and the practice pages (DESIGN §4, §5, §7):
    # public reads answer a token exactly as they answer none ---------------------------------
    Endpoint(
        "read the signing keys",
        "GET",
        "/.well-known/jwks.json",
        everyone(200),
        setup=scene.signing_keys,
    ),
    Endpoint(
        "read the trust bundle", "GET", "/v1/trust", everyone(200), setup=scene.certificate_of_a
    ),
    Endpoint(
        "list certificate issuances",
        "GET",
        "/v1/issuance",
        admin_only(200),
        setup=scene.certificate_of_a,
        shows="{certificate}",
        shown_to=frozenset({"admin"}),
    ),
    Endpoint(
        "read supplier A's certificate",
        "GET",
        CERTIFICATE,
        everyone(200),
        setup=scene.certificate_of_a,
    ),
    Endpoint(
        "download supplier A's certificate PDF",
        "GET",
        CERTIFICATE + "/pdf",
        everyone(200),
        setup=scene.certificate_of_a,
    ),
    Endpoint(
        "read supplier A's certificate statement",
        "GET",
        CERTIFICATE + "/statement",
        everyone(200),
        setup=scene.certificate_of_a,
    ),
    Endpoint(
        "suspend supplier A's certificate",
        "POST",
        CERTIFICATE + "/status",
        admin_only(200),
        suspension,
        setup=scene.certificate_of_a,
    ),
    Endpoint(
        # The supplier and the reviewers who approved it read the full report; the lead, who
        # neither reviewed nor moderated it, and the other supplier never learn it exists.
        "download supplier A's assessment report",
        "GET",
        CERTIFICATE + "/report.pdf",
        readers(supplier_a=200, reviewer=200, admin=200),
        setup=scene.certificate_of_a,
    ),
    Endpoint(
        "verify supplier A's certificate by ID",
        "GET",
        "/v1/verify/{certificate}",
        everyone(200),
        setup=scene.certificate_of_a,
    ),
    Endpoint(
        "verify supplier A's certificate PDF",
        "POST",
        "/v1/verify/pdf",
        everyone(200),
        form=certificate_pdf_form,
        setup=scene.certificate_of_a,
        read_only=True,
    ),
    Endpoint(
        "verify supplier A's certificate statement",
        "POST",
        "/v1/verify/statement",
        everyone(200),
        statement_body,
        setup=scene.certificate_of_a,
        read_only=True,
    ),
    Endpoint(
        "list the directory",
        "GET",
        "/v1/directory",
        everyone(200),
        setup=scene.certificate_of_a,
        shows="{certificate}",
        shown_to=frozenset(CALLERS),
    ),
    Endpoint("show the verification form", "GET", "/v", everyone(200)),
    Endpoint(
        "verify supplier A's certificate PDF on the page",
        "POST",
        "/v",
        everyone(200),
        form=certificate_pdf_form,
        setup=scene.certificate_of_a,
        read_only=True,
    ),
    Endpoint(
        "show the verification page of supplier A's certificate",
        "GET",
        "/v/{certificate}",
        everyone(200),
        setup=scene.certificate_of_a,
    ),
    Endpoint(
        "show the directory page",
        "GET",
        "/directory",
        everyone(200),
        setup=scene.certificate_of_a,
        shows="{certificate}",
        shown_to=frozenset(CALLERS),
    ),
    # --- the reviewer's workbench pages (signed in with a session): /review/… ---------------
    Endpoint(
        "show the review queue page",
        "GET",
        "/review",
        page_for(200, "reviewer", "lead"),
        setup=scene.submitted_of_a,
        session=True,
    ),
    Endpoint(
        "claim the next review on the page",
        "POST",
        "/review/claim",
        page_for(303, "reviewer", "lead"),
        setup=scene.submitted_of_a,
        session=True,
    ),
    Endpoint(
        "show my reviews page",
        "GET",
        "/review/mine",
        page_for(200, "reviewer", "lead"),
        setup=scene.claimed_by_reviewer,
        shows="{review}",
        shown_to=frozenset({"reviewer"}),
        session=True,
    ),
    Endpoint(
        "show the reviewer's review page",
        "GET",
        "/review/{review}",
        page_for(200, "reviewer", lead=404),
        setup=scene.claimed_by_reviewer,
        session=True,
    ),
    Endpoint(
        "renew the reviewer's claim on the page",
        "POST",
        "/review/{review}/renew",
        page_for(303, "reviewer", lead=404),
        setup=scene.claimed_by_reviewer,
        session=True,
    ),
    Endpoint(
        "release the reviewer's claim on the page",
        "POST",
        "/review/{review}/release",
        page_for(303, "reviewer", lead=404),
        setup=scene.claimed_by_reviewer,
        session=True,
    ),
    Endpoint(
        "save a section of the reviewer's review on the page",
        "POST",
        "/review/{review}/sections/C1",
        page_for(303, "reviewer", lead=404),
        form=section_form,
        setup=scene.claimed_by_reviewer,
        session=True,
    ),
    Endpoint(
        "save one score of the reviewer's review from the page's script",
        "POST",
        f"/review/{{review}}/scores/{CODE}",
        page_for(200, "reviewer", lead=404),
        form=score_form,
        setup=scene.claimed_by_reviewer,
        session=True,
    ),
    Endpoint(
        "submit the reviewer's review on the page",
        "POST",
        "/review/{review}/submit",
        page_for(303, "reviewer", lead=404),
        form=submit_form,
        setup=scene.scored_by_reviewer,
        session=True,
    ),
    Endpoint(
        "open an evidence file of the reviewer's review on the page",
        "GET",
        "/review/{review}/evidence/{evidence}",
        page_for(200, "reviewer", lead=404),
        setup=scene.claimed_with_evidence_by_reviewer,
        session=True,
    ),
    Endpoint(
        "show the moderation page",
        "GET",
        "/review/moderation",
        page_for(200, "lead"),
        setup=scene.moderation_case,
        shows="{case}",
        shown_to=frozenset({"lead"}),
        session=True,
    ),
    Endpoint(
        "show a moderation case page",
        "GET",
        "/review/moderation/{case}",
        page_for(200, "lead"),
        setup=scene.moderation_case,
        session=True,
    ),
    Endpoint(
        "decide a moderation case on the page",
        "POST",
        "/review/moderation/{case}",
        page_for(303, "lead"),
        form=decide_form,
        setup=scene.moderation_case,
        session=True,
    ),
    # --- signing in, invitations and one's own account (DESIGN §1) ---------------------------
    Endpoint("show the sign-in page", "GET", "/sign-in", everyone(200), session=True, public=True),
    Endpoint(
        "sign in",
        "POST",
        "/sign-in",
        everyone(303),
        form=lambda ids: {"data": {"email": ids["signer"], "password": MATRIX_PASSWORD}},
        setup=person_of_a_with_password,
        session=True,
        public=True,
    ),
    Endpoint("sign out", "POST", "/sign-out", signed_in(303), session=True),
    Endpoint(
        "show an invitation page",
        "GET",
        "/invitations/{invitation}",
        everyone(200),
        setup=invitation_of_a,
        session=True,
        public=True,
    ),
    Endpoint(
        "show an unknown invitation page",
        "GET",
        "/invitations/no-such-link",
        everyone(404),
        session=True,
        public=True,
    ),
    Endpoint(
        "set a password through an invitation",
        "POST",
        "/invitations/{invitation}",
        everyone(303),
        form=lambda _: {"data": {"password": MATRIX_PASSWORD}},
        setup=invitation_of_a,
        session=True,
        public=True,
    ),
    Endpoint(
        "continue after sign-in where a form was left (nothing kept: on to next)",
        "GET",
        "/sign-in/continue",
        signed_in(303),
        session=True,
    ),
    Endpoint("show one's account page", "GET", "/account", signed_in(200), session=True),
    Endpoint("show one's API tokens page", "GET", "/account/tokens", signed_in(200), session=True),
    Endpoint(
        "make an API token on one's tokens page",
        "POST",
        "/account/tokens",
        signed_in(200),
        form=lambda _: {"data": {"label": "matrix", "days": "7"}},
        session=True,
    ),
    Endpoint(
        # Supplier admins (not callers here) invite on it too: tests/web/test_sign_in.py.
        "show the invitation form",
        "GET",
        "/account/invitations",
        page_for(200, "admin"),
        session=True,
    ),
    Endpoint(
        "invite a person on the page",
        "POST",
        "/account/invitations",
        page_for(200, "admin"),
        form=lambda ids: {"data": new_invitation(ids)},
        session=True,
    ),
    Endpoint(
        # Only one's own tokens: anyone else's is 404 on this page (admins use the API).
        "revoke someone else's API token on one's tokens page",
        "POST",
        "/account/tokens/{reviewer_2.token_id}/revoke",
        signed_in(404),
        session=True,
    ),
]


def test_every_row_names_every_caller() -> None:
    for row in MATRIX:
        assert set(row.expected) == set(CALLERS), f"{row.name}: callers {sorted(row.expected)}"
        assert row.shown_to <= set(CALLERS), f"{row.name}: shown to {sorted(row.shown_to)}"
    names = [row.name for row in MATRIX]
    assert len(names) == len(set(names)), "row names must be unique: they are the test ids"


_WORLD = WorldSnapshot()
_SCENES = SceneSnapshots(_WORLD)


async def arrange(row: Endpoint, client: httpx.AsyncClient) -> tuple[World, dict[str, Any]]:
    """The conftest World (copied into the case's clean database rather than made again) and
    what the row's scene made: afresh when the row changes state, else a copy of one playing."""
    made: Ids
    if row.setup is None:
        world, made = await _WORLD.world(), {}
    elif row.only_reads:
        world, made = await _SCENES.play(row.setup, client)
    else:
        world = await _WORLD.world()
        # One commit for the whole scene: the in-process app runs in this task, so the
        # transactions its services open join this one.
        async with write_transaction():
            made = await row.setup(client, world)
    return world, {**vars(world), **made}


@pytest.mark.parametrize(
    ("row", "caller"),
    [
        pytest.param(row, caller, id=f"{row.name} as {caller}")
        for row in MATRIX
        for caller in CALLERS
    ],
)
async def test_matrix(client: httpx.AsyncClient, row: Endpoint, caller: str) -> None:
    world, ids = await arrange(row, client)
    person = world.by_name(caller)
    headers = {name: value.format_map(ids) for name, value in row.headers.items()}
    if row.session:
        headers.update(await _signed_in_page_headers(client, row, person))
    changes_before = await AuditEvent.count()
    response = await client.request(
        row.method,
        row.url(ids),
        headers={**headers, **(person.headers if person and not row.session else {})},
        json=row.body(ids) if row.body else None,
        **(row.form(ids) if row.form else {}),
    )
    expected = row.expected[caller]
    assert response.status_code == expected, response.text
    if row.session and expected == 303:
        location = response.headers["location"]
        assert location.startswith(("/review", "/sign-in", "/account")), location
        if not row.public:
            assert (caller == "anonymous") == location.startswith("/sign-in?next=/"), location
    elif row.session and expected >= 400:
        # Refused pages are pages (or the script's JSON); a refusal changes nothing.
        assert await AuditEvent.count() == changes_before, "a refused request changed something"
    elif expected >= 400:
        assert response.headers["content-type"].startswith(PROBLEM_JSON)
        assert response.json()["status"] == expected
        # A refusal changes nothing: the audit trail, which records every change, stays as it
        # was (a write that went through and then answered 404 would otherwise look refused).
        assert await AuditEvent.count() == changes_before, "a refused request changed something"
    elif row.only_reads:
        # Its cases share one playing of the scene: a row marked as only reading must not write.
        assert await AuditEvent.count() == changes_before, "a read-only row changed something"
    if expected == 401:
        assert response.headers["www-authenticate"].startswith("Bearer")
    if row.shows and expected == 200:
        shown = row.shows.format_map(ids)
        assert (shown in response.text) == (caller in row.shown_to), (
            f"{shown} {'missing from' if caller in row.shown_to else 'leaked in'} {response.text}"
        )


async def _signed_in_page_headers(
    client: httpx.AsyncClient, row: Endpoint, person: Person | None
) -> dict[str, str]:
    """Sign ``person`` in with a session (as the sign-in form does); for a POST, the CSRF token
    the pages' forms carry, taken from the cookie the CSRF middleware sets on any page."""
    if person is not None:
        client.cookies.set(SESSION_COOKIE, await sessions.start(person.user_id, None))
    if row.method == "GET":
        return {}
    await client.get("/v")
    token = next((v for k, v in client.cookies.items() if "csrf" in k.lower()), None)
    return {"x-csrftoken": token} if token else {}


# Routes Litestar adds for the OpenAPI document and its viewers; they are public by design.
_DOCUMENTATION = re.compile(r"^/schema(/|$)")

# Operations that exist but have no rows yet: the issues building them owe their rows. A route
# that is neither in MATRIX nor here fails the test below, and so does an entry here that a row
# now covers, so this list only ever shrinks.
PENDING: set[tuple[str, str]] = set()


def _route_operations() -> set[tuple[str, str]]:
    """Every (method, path) the app serves, path parameters written ``{name}``."""
    operations: set[tuple[str, str]] = set()
    for route in create_app().routes:
        if not isinstance(route, HTTPRoute) or _DOCUMENTATION.match(route.path):
            continue
        path = re.sub(r"\{(\w+):\w+\}", r"{\1}", route.path)
        operations.update((method, path) for method in route.methods if method != "OPTIONS")
    return operations


def _operation_of(row: Endpoint, operations: set[tuple[str, str]]) -> tuple[str, str] | None:
    literal = re.sub(r"\{[^}]+\}", "x", row.path.partition("?")[0])
    # A literal path (/review/mine) before a parameter's (/review/{review_id}) that also matches.
    for method, path in sorted(operations, key=lambda operation: "{" in operation[1]):
        pattern = re.sub(r"\\\{\w+\\\}", "[^/]+", re.escape(path))
        if method == row.method and re.fullmatch(pattern, literal):
            return method, path
    return None


def test_every_row_is_a_route_and_every_route_has_a_row() -> None:
    operations = _route_operations()
    covered = set()
    for row in MATRIX:
        operation = _operation_of(row, operations)
        assert operation is not None, f"{row.name}: no route serves {row.method} {row.path}"
        covered.add(operation)
    missing = sorted(operations - covered - PENDING)
    assert not missing, f"add rows to MATRIX for {missing}"
    done = sorted(PENDING & covered)
    assert not done, f"remove from PENDING, MATRIX covers them now: {done}"
