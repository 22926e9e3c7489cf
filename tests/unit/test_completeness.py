"""The completeness rule (DESIGN §2), as a table of cases a reviewer could read aloud.

Fixture: today is 2026-11-30 and the registry wants at least 30 days of validity left on every
file. C1.1 is a text gate that accepts no documents; C3.1 and C3.2 are yes/no gates that each need
a Cyber Essentials certificate with its expiry date; C3.3 a yes/no gate that needs a penetration
test report with its expiry date, issued within the last 365 days; D1.2 a scored yes/no/n-a
criterion that needs an accessibility statement. The baseline answers every criterion "yes" and
attaches one good file of each needed type ('ce-2026.pdf' backs both C3.1 and C3.2), so it is
complete; every case changes it a little.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field

import pytest

from registry.domain.canonical import canonical_json
from registry.domain.dossier import EvidenceFact, Gap, completeness, frozen_content
from schemas.criteria import Criterion, EvidenceRequirement

TODAY = dt.date(2026, 11, 30)
MIN_DAYS = 30


def criterion(code: str, response_type: str, requirement: EvidenceRequirement) -> Criterion:
    return Criterion(
        code=code,
        title=f"Criterion {code}",
        guidance="Answer it.",
        response_type=response_type,  # type: ignore[arg-type]  # a Literal in the schema
        evidence=requirement,
        mode="scored" if code.startswith("D") else "gate",
        max_score=5 if code.startswith("D") else None,
        weight=1 if code.startswith("D") else None,
    )


CE = "cyber_essentials_certificate"
PEN_TEST = "penetration_test_report"
STATEMENT = "accessibility_statement"
CRITERIA = [
    criterion("C1.1", "text", EvidenceRequirement(document_types=[])),
    criterion("C3.1", "yes_no", EvidenceRequirement(document_types=[CE], expiry_required=True)),
    criterion("C3.2", "yes_no", EvidenceRequirement(document_types=[CE], expiry_required=True)),
    criterion(
        "C3.3",
        "yes_no",
        EvidenceRequirement(document_types=[PEN_TEST], expiry_required=True, max_age_days=365),
    ),
    criterion("D1.2", "yes_no_na", EvidenceRequirement(document_types=[STATEMENT])),
]


def file(
    label: str,
    document_type: str,
    *codes: str,
    expires: str | None = None,
    issued: str | None = None,
) -> EvidenceFact:
    return EvidenceFact(
        sha256=(label.encode().hex() + "0" * 64)[:64],
        document_type=document_type,
        criteria=codes,
        expires_on=expires,
        issued_on=issued,
        label=label,
    )


BASELINE_ANSWERS: dict[str, object] = {
    "C1.1": "Described in the safety case.",
    "C3.1": True,
    "C3.2": True,
    "C3.3": True,
    "D1.2": "yes",
}
BASELINE_FILES = (
    file("ce-2026.pdf", CE, "C3.1", "C3.2", expires="2027-06-30"),
    file("pentest.pdf", PEN_TEST, "C3.3", expires="2027-09-01", issued="2026-09-01"),
    file("access.pdf", STATEMENT, "D1.2"),
)
UNANSWERED = object()  # in Case.answers: the criterion has no answer

EXPIRED_CE = (
    "Cyber Essentials certificate 'ce-2019.pdf' expired on 2020-03-01: remove it from {code} "
    "(and upload a current one if you have none)"
)
EXPIRING_CE = (
    "Cyber Essentials certificate 'ce-soon.pdf' expires on {date}, {when}; the registry needs "
    "at least 30 days of remaining validity: upload a renewed one and remove this one from C3.1"
)


@dataclass(frozen=True)
class Case:
    name: str
    gaps: tuple[tuple[str, str], ...]  # (criterion code, problem), in the order reported
    add: tuple[EvidenceFact, ...] = ()
    drop: tuple[str, ...] = ()  # labels of baseline files taken away
    answers: Mapping[str, object] = field(default_factory=dict)  # changes to the baseline
    min_days: int = MIN_DAYS


CASES = [
    Case("the baseline is complete", ()),
    Case(
        "C1.1 has no answer yet",
        (("C1.1", "no answer yet"),),
        answers={"C1.1": UNANSWERED},
    ),
    Case(
        "an unanswered criterion is not checked against its files",
        (("C3.1", "no answer yet"),),
        add=(file("ce-2019.pdf", CE, "C3.1", expires="2020-03-01"),),
        answers={"C3.1": UNANSWERED},
    ),
    Case(
        "no Cyber Essentials certificate for C3.1 or C3.2",
        (
            ("C3.1", "no Cyber Essentials certificate uploaded for this criterion: upload one"),
            ("C3.2", "no Cyber Essentials certificate uploaded for this criterion: upload one"),
        ),
        drop=("ce-2026.pdf",),
    ),
    Case(
        "a certificate that expired in 2020 beside a current one on gate C3.1",
        (("C3.1", EXPIRED_CE.format(code="C3.1")),),
        add=(file("ce-2019.pdf", CE, "C3.1", expires="2020-03-01"),),
    ),
    Case(
        "the only certificate on C3.1 expired: that file is the one gap, said once",
        (("C3.1", EXPIRED_CE.format(code="C3.1")),),
        add=(
            file("ce-2019.pdf", CE, "C3.1", expires="2020-03-01"),
            file("ce-2026.pdf", CE, "C3.2", expires="2027-06-30"),
        ),
        drop=("ce-2026.pdf",),
    ),
    Case(
        "an expired certificate backing both C3.1 and C3.2: one gap on each",
        (
            ("C3.1", EXPIRED_CE.format(code="C3.1")),
            ("C3.2", EXPIRED_CE.format(code="C3.2")),
        ),
        add=(file("ce-2019.pdf", CE, "C3.1", "C3.2", expires="2020-03-01"),),
    ),
    Case(
        "a certificate expiring in 10 days",
        (("C3.1", EXPIRING_CE.format(date="2026-12-10", when="in 10 days")),),
        add=(file("ce-soon.pdf", CE, "C3.1", expires="2026-12-10"),),
    ),
    Case(
        "a certificate expiring in 29 days",
        (("C3.1", EXPIRING_CE.format(date="2026-12-29", when="in 29 days")),),
        add=(file("ce-soon.pdf", CE, "C3.1", expires="2026-12-29"),),
    ),
    Case(
        "a certificate expiring in exactly 30 days is enough",
        (),
        add=(file("ce-soon.pdf", CE, "C3.1", expires="2026-12-30"),),
    ),
    Case(
        "a certificate expiring tomorrow",
        (("C3.1", EXPIRING_CE.format(date="2026-12-01", when="in 1 day")),),
        add=(file("ce-soon.pdf", CE, "C3.1", expires="2026-12-01"),),
    ),
    Case(
        "a certificate expiring today",
        (("C3.1", EXPIRING_CE.format(date="2026-11-30", when="today")),),
        add=(file("ce-soon.pdf", CE, "C3.1", expires="2026-11-30"),),
    ),
    Case(
        "with no minimum validity, a certificate expiring today is still valid",
        (),
        add=(file("ce-soon.pdf", CE, "C3.1", expires="2026-11-30"),),
        min_days=0,
    ),
    Case(
        "with a 90-day minimum, the baseline's pen test (275 days left) is fine, a 60-day one not",
        (
            (
                "C3.1",
                "Cyber Essentials certificate 'ce-soon.pdf' expires on 2027-01-29, in 60 days; "
                "the registry needs at least 90 days of remaining validity: upload a renewed "
                "one and remove this one from C3.1",
            ),
        ),
        add=(file("ce-soon.pdf", CE, "C3.1", expires="2027-01-29"),),
        min_days=90,
    ),
    Case(
        "the only certificate on C3.1 expires too soon: no second gap for the missing type",
        (("C3.1", EXPIRING_CE.format(date="2026-12-10", when="in 10 days")),),
        add=(
            file("ce-soon.pdf", CE, "C3.1", expires="2026-12-10"),
            file("ce-2026.pdf", CE, "C3.2", expires="2027-06-30"),
        ),
        drop=("ce-2026.pdf",),
    ),
    Case(
        "a penetration test report attached to C3.1, which wants a Cyber Essentials certificate",
        (
            (
                "C3.1",
                "penetration test report 'pentest-copy.pdf' is not a document type C3.1 "
                "accepts (only: Cyber Essentials certificate): remove it from C3.1",
            ),
        ),
        add=(file("pentest-copy.pdf", PEN_TEST, "C3.1", expires="2027-09-01"),),
    ),
    Case(
        "an expired file of the wrong type is reported once, as the wrong type",
        (
            (
                "C3.1",
                "policy document 'old.pdf' is not a document type C3.1 accepts "
                "(only: Cyber Essentials certificate): remove it from C3.1",
            ),
        ),
        add=(file("old.pdf", "policy_document", "C3.1", expires="2019-01-01"),),
    ),
    Case(
        "an 'other' document (whatever a reviewer asked for) fits any criterion, even C1.1",
        (),
        add=(file("notes.pdf", "other", "C1.1", "C3.1"),),
    ),
    Case(
        "an expired 'other' document is still reported as expired",
        (
            (
                "C3.1",
                "document 'old-notes.pdf' expired on 2019-01-01: remove it from C3.1 "
                "(and upload a current one if you have none)",
            ),
        ),
        add=(file("old-notes.pdf", "other", "C3.1", expires="2019-01-01"),),
    ),
    Case(
        "a policy document attached to C1.1, which accepts no documents",
        (
            (
                "C1.1",
                "policy document 'policy.pdf' is attached to C1.1, which accepts no documents: "
                "remove it from C1.1",
            ),
        ),
        add=(file("policy.pdf", "policy_document", "C1.1"),),
    ),
    Case(
        'C3.1 answered "no" needs no evidence, but an expired certificate on it is still a gap',
        (
            (
                "C3.1",
                "Cyber Essentials certificate 'ce-2019.pdf' expired on 2020-03-01: remove it "
                "from C3.1 (and upload a current one if you have none)",
            ),
        ),
        add=(file("ce-2019.pdf", CE, "C3.1", expires="2020-03-01"),),
        answers={"C3.1": False},
    ),
    Case(
        'D1.2 answered "na" needs no statement, but a misfiled policy on it is still a gap',
        (
            (
                "D1.2",
                "policy document 'policy.pdf' is not a document type D1.2 accepts "
                "(only: accessibility statement): remove it from D1.2",
            ),
        ),
        add=(file("policy.pdf", "policy_document", "D1.2"),),
        drop=("access.pdf",),
        answers={"D1.2": "na"},
    ),
    Case(
        'D1.2 answered "no" needs no evidence either',
        (),
        drop=("access.pdf",),
        answers={"D1.2": "no"},
    ),
    Case(
        "a file attached to a criterion that does not apply is not checked",
        (),
        add=(file("ce-2019.pdf", CE, "C9.9", expires="2020-03-01"),),
    ),
    Case(
        "a certificate that states no expiry date, where C3.1 and C3.2 require one",
        (
            (
                "C3.1",
                "the Cyber Essentials certificate must state its expiry date: upload it again "
                "with its expiry date",
            ),
            (
                "C3.2",
                "the Cyber Essentials certificate must state its expiry date: upload it again "
                "with its expiry date",
            ),
        ),
        add=(file("ce-undated.pdf", CE, "C3.1", "C3.2"),),
        drop=("ce-2026.pdf",),
    ),
    Case(
        "a penetration test issued more than 365 days ago",
        (
            (
                "C3.3",
                "no penetration test report issued within the last 365 days: upload a recent "
                "one with its issue date (issued_on)",
            ),
        ),
        add=(file("pentest-old.pdf", PEN_TEST, "C3.3", expires="2027-09-01", issued="2025-01-01"),),
        drop=("pentest.pdf",),
    ),
    Case(
        "a penetration test that does not say when it was issued",
        (
            (
                "C3.3",
                "no penetration test report issued within the last 365 days: upload a recent "
                "one with its issue date (issued_on)",
            ),
        ),
        add=(file("pentest-undated.pdf", PEN_TEST, "C3.3", expires="2027-09-01"),),
        drop=("pentest.pdf",),
    ),
    Case(
        "a file without a label is named by its digest",
        (
            (
                "C3.1",
                "Cyber Essentials certificate file 000000000000 expired on 2020-03-01: remove "
                "it from C3.1 (and upload a current one if you have none)",
            ),
        ),
        add=(
            EvidenceFact(
                sha256="0" * 64,
                document_type=CE,
                criteria=("C3.1",),
                expires_on="2020-03-01",
                issued_on=None,
            ),
        ),
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_completeness(case: Case) -> None:
    answers = {**BASELINE_ANSWERS, **case.answers}
    answers = {code: value for code, value in answers.items() if value is not UNANSWERED}
    files = [f for f in BASELINE_FILES if f.label not in case.drop] + list(case.add)
    gaps = completeness(CRITERIA, answers, files, TODAY, case.min_days)
    assert gaps == [Gap(code, f"Criterion {code}", problem) for code, problem in case.gaps]


def test_the_label_never_reaches_the_frozen_content() -> None:
    labelled = list(BASELINE_FILES)
    unlabelled = [
        EvidenceFact(
            sha256=f.sha256,
            document_type=f.document_type,
            criteria=f.criteria,
            expires_on=f.expires_on,
            issued_on=f.issued_on,
        )
        for f in BASELINE_FILES
    ]

    def frozen(evidence: list[EvidenceFact]) -> bytes:
        return canonical_json(
            frozen_content(
                dossier_id="d",
                revision=1,
                product={"id": "p"},
                product_version="1",
                criteria_set={"key": "k", "version": 1, "sha256": "s"},
                answers=BASELINE_ANSWERS,
                evidence=evidence,
            )
        )

    assert frozen(labelled) == frozen(unlabelled)
    assert b"ce-2026.pdf" not in frozen(labelled)
