"""The whole registry flow over HTTP, as a newcomer would try it (see README "Try it").

Run against a server started with `make run`:

    .venv/bin/python examples/walkthrough.py --server http://127.0.0.1:8000 \
        --admin-token-file var/admin-token

It creates a supplier and an assessor organisation, their people and tokens, registers a
product, answers every applicable criterion of kitemark-core/1 (uploading a small PDF for each
required document), submits, has two reviewers score and approve, then verifies the certificate
the registry issued — by ID, by its statement, and by its PDF.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import uuid
from pathlib import Path
from typing import Any

import httpx

PROFILE = {
    "esf_tier": "A",
    "medical_device_class": "none",
    "processes_personal_data": True,
    "integrates_with_clinical_systems": False,
    "patient_facing": True,
}


def ok(response: httpx.Response, *expected: int) -> Any:
    """The JSON body of a response with an expected status; otherwise stop with its problem."""
    if response.status_code not in (expected or (200, 201)):
        sys.exit(
            f"{response.request.method} {response.request.url} -> "
            f"{response.status_code}: {response.text}"
        )
    return response.json() if response.content else None


def answer_for(criterion: dict[str, Any]) -> object:
    """A positive answer of the criterion's type."""
    kind = criterion["response_type"]
    if kind == "choice":
        return criterion["choices"][0]
    return {
        "yes_no": True,
        "yes_no_na": "yes",
        "text": "See the attached documents.",
        "date": "2026-06-01",
        "number": 1,
    }[kind]


def applies(criterion: dict[str, Any], profile: dict[str, Any]) -> bool:
    """Whether every applies_if condition holds for the profile."""
    return all(profile[c["field"]] in c["any_of"] for c in criterion["applies_if"])


def main() -> None:
    """Walk the flow and print what happens at each step."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    # The same defaults as the server: REGISTRY_BASE_URL, and the token file `make run` writes
    # under REGISTRY_DATA_DIR.
    parser.add_argument(
        "--server", default=os.environ.get("REGISTRY_BASE_URL", "http://127.0.0.1:8000")
    )
    parser.add_argument(
        "--admin-token-file",
        type=Path,
        default=Path(os.environ.get("REGISTRY_DATA_DIR", "var")) / "admin-token",
    )
    args = parser.parse_args()
    if not args.admin_token_file.is_file():
        sys.exit(
            f"no admin token at {args.admin_token_file}: start the registry with `make run` "
            "(it writes one there), or pass --admin-token-file"
        )
    run = uuid.uuid4().hex[:6]
    http = httpx.Client(base_url=args.server, timeout=60)
    admin = {"Authorization": f"Bearer {args.admin_token_file.read_text().strip()}"}

    def person(email: str, role: str, organisation: str) -> dict[str, str]:
        user = ok(
            http.post(
                "/v1/users",
                headers=admin,
                json={
                    "email": email,
                    "name": email.split("@")[0],
                    "role": role,
                    "organisation_id": organisation,
                },
            )
        )
        token = ok(
            http.post(
                f"/v1/users/{user['id']}/tokens", headers=admin, json={"label": "walkthrough"}
            )
        )
        return {"Authorization": f"Bearer {token['token']}"}

    supplier = ok(
        http.post(
            "/v1/organisations",
            headers=admin,
            json={"name": f"Acme Health {run}", "kind": "supplier"},
        )
    )
    assessor = ok(
        http.post(
            "/v1/organisations",
            headers=admin,
            json={"name": f"Assessors {run}", "kind": "assessor"},
        )
    )
    sam = person(f"sam.{run}@acme.example", "supplier_member", supplier["id"])
    rita = person(f"rita.{run}@assess.example", "reviewer", assessor["id"])
    ravi = person(f"ravi.{run}@assess.example", "reviewer", assessor["id"])
    print(f"1. organisations and people created ({supplier['name']})")

    product = ok(
        http.post(
            "/v1/products",
            headers=sam,
            json={
                "name": f"CareFlow Appointments {run}",
                "intended_purpose": "Lets patients book and change GP appointments online.",
                "profile": PROFILE,
            },
        )
    )
    dossier = ok(
        http.post(
            "/v1/dossiers",
            headers=sam,
            json={"product_id": product["id"], "product_version": "4.2.1"},
        )
    )
    document = ok(http.get("/v1/criteria-sets/kitemark-core/1"))["document"]
    criteria = [c for s in document["sections"] for c in s["criteria"] if applies(c, PROFILE)]
    today = dt.datetime.now(dt.UTC).date()
    for criterion in criteria:
        ok(
            http.put(
                f"/v1/dossiers/{dossier['id']}/answers/{criterion['code']}",
                headers=sam,
                json={"value": answer_for(criterion)},
            )
        )
        for document_type in criterion["evidence"]["document_types"]:
            pdf = f"%PDF-1.7\n% {criterion['code']} {document_type}\n%%EOF\n".encode()
            ok(
                http.post(
                    f"/v1/dossiers/{dossier['id']}/evidence",
                    headers=sam,
                    files={"file": (f"{document_type}.pdf", pdf, "application/pdf")},
                    data={
                        "document_type": document_type,
                        "criteria": criterion["code"],
                        "expires_on": (today + dt.timedelta(days=300)).isoformat(),
                        "issued_on": (today - dt.timedelta(days=30)).isoformat(),
                    },
                )
            )
    report = ok(http.get(f"/v1/dossiers/{dossier['id']}/completeness", headers=sam))
    revision = ok(http.post(f"/v1/dossiers/{dossier['id']}/submit", headers=sam))
    print(
        f"2. dossier answered ({report['answered']} criteria) and submitted, "
        f"digest {revision['digest'][:16]}…"
    )

    for reviewer in (rita, ravi):
        review = ok(http.post("/v1/queue/claim", headers=reviewer))
        for code in review["criteria"]:
            criterion = next(c for c in criteria if c["code"] == code)
            body = (
                {"gate_pass": True}
                if criterion["mode"] == "gate"
                else {"score": criterion["max_score"], "rationale": "Well evidenced."}
            )
            ok(http.put(f"/v1/reviews/{review['id']}/scores/{code}", headers=reviewer, json=body))
        submitted = ok(
            http.post(
                f"/v1/reviews/{review['id']}/submit",
                headers=reviewer,
                json={"recommendation": "approve", "summary": "Meets the criteria."},
            )
        )
        # Each submit says what followed: another review awaited, moderation, or the decision.
        print(f"   review submitted: {submitted['progress']['next_step']}")
    certificate_id = submitted["progress"]["certificate_id"]
    if not certificate_id:
        sys.exit(f"no certificate: {submitted['progress']['next_step']}")
    feedback = ok(http.get(f"/v1/dossiers/{dossier['id']}/revisions/1/feedback", headers=sam))
    print(
        f"3. two independent reviews approved it ({feedback['outcome']}, "
        f"{', '.join(r['label'] for r in feedback['reviews'])}): certificate {certificate_id}"
    )

    by_id = ok(http.get(f"/v1/verify/{certificate_id}"))
    statement = http.get(f"/v1/certificates/{certificate_id}/statement").text
    by_statement = ok(http.post("/v1/verify/statement", json={"text": statement}))
    pdf = http.get(f"/v1/certificates/{certificate_id}/pdf").content
    by_pdf = ok(
        http.post("/v1/verify/pdf", files={"file": ("certificate.pdf", pdf, "application/pdf")})
    )
    print(
        f"4. verified by ID: {by_id['verdict']}, by statement: {by_statement['verdict']}, "
        f"by PDF: {by_pdf['verdict']}"
    )
    print(f"   open {args.server}/v/{certificate_id} in a browser")


if __name__ == "__main__":
    main()
