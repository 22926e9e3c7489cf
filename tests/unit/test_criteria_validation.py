"""Criteria set validation and answer checking (DESIGN §3), as tables of cases.

Each validation case applies one mutation to a small valid document and names the field and the
message the first problem must be reported with. The base document: section C1 holds one gate
(threshold 0) that applies to tiers B and C; section D1 holds a scored yes/no criterion and a
scored choice criterion (threshold 60).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import msgspec
import pytest

from registry.domain.criteria import (
    applicable_criteria,
    applies,
    criteria_set_digest,
    find_criterion,
    validate_answer,
    validate_criteria_set,
)
from registry.errors import InvalidInput
from schemas.criteria import (
    Condition,
    CriteriaSetDocument,
    Criterion,
    EvidenceRequirement,
    ProductProfile,
    ResponseType,
    ReviewPolicy,
    Section,
)


def gate_criterion(code: str = "C1.1") -> Criterion:
    return Criterion(
        code=code,
        title="Clinical Safety Case Report",
        guidance="Upload the current report.",
        response_type="yes_no",
        evidence=EvidenceRequirement(document_types=["clinical_safety_case_report"]),
        applies_if=[Condition(field="esf_tier", any_of=["B", "C"])],
        mode="gate",
    )


def base_document() -> CriteriaSetDocument:
    return CriteriaSetDocument(
        key="test-set",
        version=1,
        title="Test criteria",
        description="A small set for tests.",
        review_policy=ReviewPolicy(required_reviews=2, tolerance_points=15),
        sections=[
            Section(
                code="C1", title="Clinical safety", threshold_percent=0, criteria=[gate_criterion()]
            ),
            Section(
                code="D1",
                title="Usability",
                threshold_percent=60,
                criteria=[
                    Criterion(
                        code="D1.1",
                        title="WCAG audit",
                        guidance="Upload the audit.",
                        response_type="yes_no",
                        evidence=EvidenceRequirement(
                            document_types=["wcag_audit"], expiry_required=True, max_age_days=365
                        ),
                        mode="scored",
                        max_score=4,
                        weight=2,
                    ),
                    Criterion(
                        code="D1.2",
                        title="Sign-in",
                        guidance="Choose one.",
                        response_type="choice",
                        choices=["NHS login", "Other"],
                        evidence=EvidenceRequirement(document_types=[]),
                        applies_if=[Condition(field="patient_facing", any_of=[True])],
                        mode="scored",
                        max_score=4,
                        weight=1,
                    ),
                ],
            ),
        ],
    )


Mutation = Callable[[CriteriaSetDocument], object]


@dataclass(frozen=True)
class Case:
    name: str
    mutate: Mutation
    field: str
    message: str


def gate(doc: CriteriaSetDocument) -> Criterion:
    return doc.sections[0].criteria[0]


def scored(doc: CriteriaSetDocument) -> Criterion:
    return doc.sections[1].criteria[0]


def choice(doc: CriteriaSetDocument) -> Criterion:
    return doc.sections[1].criteria[1]


def add_section_d_with_criterion_d1(doc: CriteriaSetDocument) -> None:
    criterion = msgspec.structs.replace(scored(doc), code="D1")
    doc.sections.append(Section(code="D", title="More", threshold_percent=60, criteria=[criterion]))


CASES = [
    Case("a key with capitals and spaces", lambda d: setattr(d, "key", "Test Set"), "key", "slug"),
    Case("version zero", lambda d: setattr(d, "version", 0), "version", "from 1"),
    Case("a blank title", lambda d: setattr(d, "title", "  "), "title", "non-blank"),
    Case(
        "no reviews required",
        lambda d: setattr(d.review_policy, "required_reviews", 0),
        "review_policy.required_reviews",
        "from 1 to 5, found integer 0",
    ),
    Case(
        "a tolerance above 100 points",
        lambda d: setattr(d.review_policy, "tolerance_points", 101),
        "review_policy.tolerance_points",
        "from 0 to 100",
    ),
    Case(
        "a validity of zero days",
        lambda d: setattr(d.review_policy, "default_validity_days", 0),
        "review_policy.default_validity_days",
        "found integer 0",
    ),
    Case("no sections at all", lambda d: d.sections.clear(), "sections", "at least one section"),
    Case(
        "a section with no criteria",
        lambda d: d.sections[0].criteria.clear(),
        "sections[0].criteria",
        "at least one criterion in section C1",
    ),
    Case(
        "two sections coded C1",
        lambda d: setattr(d.sections[1], "code", "C1"),
        "sections[1].code",
        "unique section codes, found 'C1' again",
    ),
    Case(
        "a lowercase section code",
        lambda d: setattr(d.sections[1], "code", "d1"),
        "sections[1].code",
        "section code like C1",
    ),
    Case(
        "a threshold of 101 percent",
        lambda d: setattr(d.sections[1], "threshold_percent", 101),
        "sections[1].threshold_percent",
        "from 0 to 100, found integer 101",
    ),
    Case(
        "a gate-only section with a threshold",
        lambda d: setattr(d.sections[0], "threshold_percent", 50),
        "sections[0].threshold_percent",
        "only gate criteria, found 50",
    ),
    Case(
        "the same criterion code twice in a section",
        lambda d: d.sections[0].criteria.append(gate_criterion("C1.1")),
        "sections[0].criteria[1].code",
        "unique across the set, found 'C1.1' again",
    ),
    Case(
        "a criterion filed under the wrong section",
        lambda d: setattr(scored(d), "code", "C1.9"),
        "sections[1].criteria[0].code",
        "numbered under section D1",
    ),
    Case(
        "C10.1 is not under C1 even though it starts with C1",
        lambda d: setattr(gate(d), "code", "C10.1"),
        "sections[0].criteria[0].code",
        "numbered under section C1 (like C1.1), found 'C10.1'",
    ),
    Case(
        "a malformed criterion code",
        lambda d: setattr(gate(d), "code", "C1-1"),
        "sections[0].criteria[0].code",
        "criterion code like C1.2, found string 'C1-1'",
    ),
    Case(
        "a criterion code that is also a section code",
        add_section_d_with_criterion_d1,
        "sections[2].criteria[0].code",
        "also a section",
    ),
    Case(
        "a blank criterion title",
        lambda d: setattr(gate(d), "title", ""),
        "sections[0].criteria[0].title",
        "non-blank",
    ),
    Case(
        "an unknown response type built in code",
        lambda d: setattr(gate(d), "response_type", "essay"),
        "sections[0].criteria[0].response_type",
        "found string 'essay'",
    ),
    Case(
        "a choice criterion without choices",
        lambda d: setattr(choice(d), "choices", None),
        "sections[1].criteria[1].choices",
        "at least one choice for response type choice, found null",
    ),
    Case(
        "a choice criterion with an empty list of choices",
        lambda d: setattr(choice(d), "choices", []),
        "sections[1].criteria[1].choices",
        "at least one choice",
    ),
    Case(
        "the same choice twice",
        lambda d: setattr(choice(d), "choices", ["Other", "Other"]),
        "sections[1].criteria[1].choices[1]",
        "each choice once",
    ),
    Case(
        "a blank choice",
        lambda d: setattr(choice(d), "choices", ["NHS login", " "]),
        "sections[1].criteria[1].choices[1]",
        "non-blank",
    ),
    Case(
        "choices on a yes/no criterion",
        lambda d: setattr(gate(d), "choices", ["yes", "no"]),
        "sections[0].criteria[0].choices",
        "no choices for response type yes_no, found 2",
    ),
    Case(
        "an unknown evidence document type",
        lambda d: setattr(gate(d).evidence, "document_types", ["selfie"]),
        "sections[0].criteria[0].evidence.document_types[0]",
        "known evidence document type, found string 'selfie'",
    ),
    Case(
        "the same document type twice",
        lambda d: setattr(gate(d).evidence, "document_types", ["hazard_log", "hazard_log"]),
        "sections[0].criteria[0].evidence.document_types[1]",
        "each document type once",
    ),
    Case(
        "an expiry date required with no documents",
        lambda d: setattr(choice(d).evidence, "expiry_required", True),
        "sections[1].criteria[1].evidence.expiry_required",
        "at least one document type",
    ),
    Case(
        "a maximum age with no documents",
        lambda d: setattr(choice(d).evidence, "max_age_days", 365),
        "sections[1].criteria[1].evidence.max_age_days",
        "at least one document type",
    ),
    Case(
        "a maximum age of zero days",
        lambda d: setattr(scored(d).evidence, "max_age_days", 0),
        "sections[1].criteria[0].evidence.max_age_days",
        "from 1 to 3650",
    ),
    Case(
        "applies_if on a field the profile does not have",
        lambda d: setattr(gate(d).applies_if[0], "field", "is_medical_device"),
        "sections[0].criteria[0].applies_if[0].field",
        "product profile field (esf_tier, medical_device_class",
    ),
    Case(
        "applies_if on tier D",
        lambda d: setattr(gate(d).applies_if[0], "any_of", ["B", "D"]),
        "sections[0].criteria[0].applies_if[0].any_of[1]",
        "value of esf_tier (A, B, C), found string 'D'",
    ),
    Case(
        "applies_if with the string 'true' for a yes/no field",
        lambda d: setattr(choice(d).applies_if[0], "any_of", ["true"]),
        "sections[1].criteria[1].applies_if[0].any_of[0]",
        "(true, false), found string 'true'",
    ),
    Case(
        "applies_if with a boolean for the tier",
        lambda d: setattr(gate(d).applies_if[0], "any_of", [True]),
        "sections[0].criteria[0].applies_if[0].any_of[0]",
        "found boolean true",
    ),
    Case(
        "applies_if with no values",
        lambda d: setattr(gate(d).applies_if[0], "any_of", []),
        "sections[0].criteria[0].applies_if[0].any_of",
        "at least one value",
    ),
    Case(
        "applies_if listing the same tier twice",
        lambda d: setattr(gate(d).applies_if[0], "any_of", ["B", "B"]),
        "sections[0].criteria[0].applies_if[0].any_of[1]",
        "each value once",
    ),
    Case(
        "applies_if naming the same field twice",
        lambda d: gate(d).applies_if.append(Condition(field="esf_tier", any_of=["C"])),
        "sections[0].criteria[0].applies_if[1].field",
        "each profile field once",
    ),
    Case(
        "a scored criterion with weight 0",
        lambda d: setattr(scored(d), "weight", 0),
        "sections[1].criteria[0].weight",
        "from 1 to 100, found integer 0",
    ),
    Case(
        "a scored criterion without a maximum score",
        lambda d: setattr(scored(d), "max_score", None),
        "sections[1].criteria[0].max_score",
        "found null",
    ),
    Case(
        "a weight given as a boolean",
        lambda d: setattr(scored(d), "weight", True),
        "sections[1].criteria[0].weight",
        "found boolean true",
    ),
    Case(
        "a weight given as a float",
        lambda d: setattr(scored(d), "weight", 2.0),
        "sections[1].criteria[0].weight",
        "found number 2.0",
    ),
    Case(
        "a maximum score above 100",
        lambda d: setattr(scored(d), "max_score", 101),
        "sections[1].criteria[0].max_score",
        "from 1 to 100",
    ),
    Case(
        "a gate with a weight",
        lambda d: setattr(gate(d), "weight", 1),
        "sections[0].criteria[0].weight",
        "no weight on a gate criterion",
    ),
    Case(
        "a gate with a maximum score",
        lambda d: setattr(gate(d), "max_score", 4),
        "sections[0].criteria[0].max_score",
        "no max_score on a gate criterion",
    ),
    Case(
        "an unknown mode built in code",
        lambda d: setattr(gate(d), "mode", "advisory"),
        "sections[0].criteria[0].mode",
        "gate or scored",
    ),
]


def test_the_base_document_is_valid() -> None:
    validate_criteria_set(base_document())


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.name)
def test_validation_reports_the_first_problem(case: Case) -> None:
    doc = base_document()
    case.mutate(doc)
    with pytest.raises(InvalidInput) as caught:
        validate_criteria_set(doc)
    assert caught.value.field == case.field
    assert case.message in caught.value.detail


def test_a_bare_letter_section_numbers_its_criteria_directly() -> None:
    doc = base_document()
    doc.sections[1].code = "D"
    doc.sections[1].criteria[0].code = "D1"
    doc.sections[1].criteria[1].code = "D2"
    validate_criteria_set(doc)


def test_decoding_refuses_floats_and_unknown_fields() -> None:
    encoded = msgspec.json.encode(base_document())
    with pytest.raises(msgspec.ValidationError, match="got `float`"):
        msgspec.json.decode(
            encoded.replace(b'"weight":2', b'"weight":2.0'), type=CriteriaSetDocument
        )
    with pytest.raises(msgspec.ValidationError, match="unknown field"):
        msgspec.json.decode(
            encoded.replace(b'"version":1', b'"version":1,"extra":true'), type=CriteriaSetDocument
        )


def test_the_digest_is_the_same_after_a_round_trip_and_changes_with_the_content() -> None:
    doc = base_document()
    again = msgspec.json.decode(msgspec.json.encode(doc), type=CriteriaSetDocument)
    assert criteria_set_digest(doc) == criteria_set_digest(again)
    again.sections[1].criteria[0].weight = 3
    assert criteria_set_digest(doc) != criteria_set_digest(again)


def profile(**changes: object) -> ProductProfile:
    base = ProductProfile(
        esf_tier="A",
        medical_device_class="none",
        processes_personal_data=False,
        integrates_with_clinical_systems=False,
        patient_facing=False,
    )
    return msgspec.structs.replace(base, **changes)


def test_applicability_follows_the_profile() -> None:
    doc = base_document()
    assert not applies(gate(doc), profile(esf_tier="A"))
    assert applies(gate(doc), profile(esf_tier="C"))
    assert applies(scored(doc), profile())  # no conditions: always
    assert [c.code for c in applicable_criteria(doc, profile())] == ["D1.1"]
    assert [
        c.code for c in applicable_criteria(doc, profile(esf_tier="B", patient_facing=True))
    ] == [
        "C1.1",
        "D1.1",
        "D1.2",
    ]


def test_find_criterion() -> None:
    doc = base_document()
    found = find_criterion(doc, "D1.2")
    assert found is not None
    assert found.title == "Sign-in"
    assert find_criterion(doc, "D1.9") is None


KEEP = object()  # the canonical value is the input itself


@dataclass(frozen=True)
class AnswerCase:
    name: str
    response_type: ResponseType
    value: object
    stored: object = KEEP
    error: str | None = None


TEXT_LIMIT = 10_000
ANSWER_CASES = [
    AnswerCase("yes/no: true", "yes_no", True),
    AnswerCase("yes/no: false", "yes_no", False),
    AnswerCase("yes/no: the word yes is refused", "yes_no", "yes", error="true or false"),
    AnswerCase("yes/no: 1 is not true", "yes_no", 1, error="found integer 1"),
    AnswerCase("yes/no/na: not applicable", "yes_no_na", "na"),
    AnswerCase("yes/no/na: yes", "yes_no_na", "yes"),
    AnswerCase("yes/no/na: capitalised Yes is refused", "yes_no_na", "Yes", error='"na"'),
    AnswerCase("yes/no/na: a boolean is refused", "yes_no_na", True, error="found boolean true"),
    AnswerCase("text: surrounding spaces are stripped", "text", "  Dr A. Patel  ", "Dr A. Patel"),
    AnswerCase(
        "text: exactly the limit once stripped",
        "text",
        " " + "x" * TEXT_LIMIT + " ",
        "x" * TEXT_LIMIT,
    ),
    AnswerCase(
        "text: one character over the limit", "text", "x" * (TEXT_LIMIT + 1), error="at most 10000"
    ),
    AnswerCase("text: blank", "text", "   ", error="non-blank"),
    AnswerCase("text: a number is refused", "text", 5, error="found integer 5"),
    AnswerCase("date: a real date", "date", "2026-02-28"),
    AnswerCase("date: a leap day", "date", "2028-02-29"),
    AnswerCase(
        "date: 30 February does not exist", "date", "2026-02-30", error="real calendar date"
    ),
    AnswerCase("date: the compact ISO form is refused", "date", "20260228", error="YYYY-MM-DD"),
    AnswerCase("date: unpadded month and day", "date", "2026-2-8", error="YYYY-MM-DD"),
    AnswerCase(
        "date: a date and time is refused", "date", "2026-02-28T10:00:00", error="YYYY-MM-DD"
    ),
    AnswerCase("date: an integer is refused", "date", 20260228, error="found integer 20260228"),
    AnswerCase("choice: one of the choices", "choice", "UK only"),
    AnswerCase("choice: case matters", "choice", "uk only", error="one of 'UK only', 'UK and EEA'"),
    AnswerCase("choice: not a string", "choice", 1, error="found integer 1"),
    AnswerCase("number: zero", "number", 0),
    AnswerCase("number: negative", "number", -3),
    AnswerCase("number: true is not a number", "number", True, error="found boolean true"),
    AnswerCase(
        "number: a float is refused even when whole", "number", 3.0, error="found number 3.0"
    ),
    AnswerCase("number: a numeric string is refused", "number", "3", error="found string '3'"),
    AnswerCase(
        "number: beyond what JSON readers hold exactly",
        "number",
        2**53,
        error="found 9007199254740992",
    ),
    AnswerCase("any type: null clears the answer", "text", None),
]


def criterion_answering(response_type: ResponseType) -> Criterion:
    return Criterion(
        code="C1.1",
        title="A question",
        guidance="Answer it.",
        response_type=response_type,
        choices=["UK only", "UK and EEA"] if response_type == "choice" else None,
        evidence=EvidenceRequirement(document_types=[]),
        mode="gate",
    )


@pytest.mark.parametrize("case", ANSWER_CASES, ids=lambda case: case.name)
def test_validate_answer(case: AnswerCase) -> None:
    criterion = criterion_answering(case.response_type)
    if case.error is not None:
        with pytest.raises(InvalidInput) as caught:
            validate_answer(criterion, case.value)
        assert caught.value.field == "value"
        assert case.error in caught.value.detail
        return
    stored = validate_answer(criterion, case.value)
    expected = case.value if case.stored is KEEP else case.stored
    assert stored == expected
    assert type(stored) is type(expected)
