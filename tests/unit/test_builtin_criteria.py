"""The built-in criteria set kitemark-core/1: it decodes, validates, and asks each kind of product
for exactly the key gates its profile calls for, across every combination of profile values.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable
from dataclasses import dataclass
from importlib.resources import files
from typing import Any

import msgspec
import pytest

from registry.domain.criteria import (
    PROFILE_FIELDS,
    applicable_criteria,
    applies,
    criteria_set_digest,
    find_criterion,
    validate_criteria_set,
)
from schemas.criteria import CriteriaSetDocument, Criterion, ProductProfile

BUILTIN = files("registry") / "data" / "kitemark-core-1.json"


def load() -> CriteriaSetDocument:
    return msgspec.json.decode(BUILTIN.read_bytes(), type=CriteriaSetDocument)


DOC = load()
# Every combination of profile values: 3 tiers x 5 device classes x 2 x 2 x 2 = 120 profiles.
PROFILES = [
    ProductProfile(**dict(zip(PROFILE_FIELDS, values, strict=True)))  # type: ignore[arg-type]
    for values in itertools.product(*PROFILE_FIELDS.values())
]


def criterion(code: str) -> Criterion:
    found = find_criterion(DOC, code)
    assert found is not None, f"the built-in set has no criterion {code}"
    return found


def test_it_decodes_and_validates() -> None:
    validate_criteria_set(DOC)
    assert (DOC.key, DOC.version) == ("kitemark-core", 1)


def test_it_has_the_six_sections_and_a_sensible_size() -> None:
    assert [section.code for section in DOC.sections] == ["C1", "C2", "C3", "C4", "D1", "E1"]
    count = sum(len(section.criteria) for section in DOC.sections)
    assert 25 <= count <= 40


def test_review_policy() -> None:
    policy = DOC.review_policy
    assert (policy.required_reviews, policy.tolerance_points, policy.default_validity_days) == (
        2,
        15,
        365,
    )


def test_gate_only_sections_have_no_threshold_and_scored_ones_a_real_one() -> None:
    for section in DOC.sections:
        if all(c.mode == "gate" for c in section.criteria):
            assert section.threshold_percent == 0, section.code
        else:
            assert 60 <= section.threshold_percent <= 70, section.code


def test_every_number_in_the_file_is_an_integer() -> None:
    def walk(value: Any) -> None:
        assert not isinstance(value, float), value
        if isinstance(value, dict):
            for item in value.values():
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    walk(json.loads(BUILTIN.read_text(encoding="utf-8")))


def test_the_digest_is_stable() -> None:
    first, second = load(), load()
    digest = criteria_set_digest(first)
    assert digest == criteria_set_digest(second)
    assert len(digest) == 64
    assert set(digest) <= set("0123456789abcdef")
    # Re-encoding the decoded document does not change its identity either.
    again = msgspec.json.decode(msgspec.json.encode(first), type=CriteriaSetDocument)
    assert criteria_set_digest(again) == digest


def is_device(p: ProductProfile) -> bool:
    return p.medical_device_class != "none"


@dataclass(frozen=True)
class KeyGate:
    name: str
    code: str
    document_type: str | None
    expected: Callable[[ProductProfile], bool]
    mode: str = "gate"


KEY_CRITERIA = [
    KeyGate(
        "a named Clinical Safety Officer and risk management plan for tiers B and C",
        "C1.2",
        "clinical_risk_management_plan",
        lambda p: p.esf_tier in ("B", "C"),
    ),
    KeyGate(
        "a safety case report and hazard log for tiers B and C",
        "C1.3",
        "clinical_safety_case_report",
        lambda p: p.esf_tier in ("B", "C"),
    ),
    KeyGate(
        "the whole clinical safety file for a tier A medical device",
        "C1.4",
        "hazard_log",
        lambda p: p.esf_tier == "A" and is_device(p),
    ),
    KeyGate("MHRA registration only for medical devices", "C1.6", "mhra_registration", is_device),
    KeyGate(
        "an Approved Body certificate only for classes IIa, IIb and III",
        "C1.7",
        "ukca_ce_certificate",
        lambda p: p.medical_device_class in ("IIa", "IIb", "III"),
    ),
    KeyGate(
        "ICO registration only with personal data",
        "C2.1",
        "ico_registration",
        lambda p: p.processes_personal_data,
    ),
    KeyGate("a DPIA only with personal data", "C2.3", "dpia", lambda p: p.processes_personal_data),
    KeyGate(
        "DSPT Standards Met only with personal data",
        "C2.4",
        "dspt_assessment",
        lambda p: p.processes_personal_data,
    ),
    KeyGate(
        "Cyber Essentials for everyone",
        "C3.1",
        "cyber_essentials_certificate",
        lambda p: True,
    ),
    KeyGate(
        "Cyber Essentials Plus for tier C",
        "C3.2",
        "cyber_essentials_plus_certificate",
        lambda p: p.esf_tier == "C",
    ),
    KeyGate(
        "a recent penetration test for everyone",
        "C3.3",
        "penetration_test_report",
        lambda p: True,
    ),
    KeyGate(
        "multi-factor authentication for everyone",
        "C3.5",
        None,
        lambda p: True,
    ),
    KeyGate(
        "NHS number only when integrating with clinical systems",
        "C4.3",
        None,
        lambda p: p.integrates_with_clinical_systems,
    ),
    KeyGate(
        "FHIR only when integrating with clinical systems",
        "C4.2",
        "fhir_conformance_statement",
        lambda p: p.integrates_with_clinical_systems,
        mode="scored",
    ),
    KeyGate(
        "NHS login for patient-facing products holding personal data",
        "C4.5",
        None,
        lambda p: p.patient_facing and p.processes_personal_data,
        mode="scored",
    ),
    KeyGate(
        "plausibility evidence for tier A",
        "E1.3",
        None,
        lambda p: p.esf_tier == "A",
        mode="scored",
    ),
    KeyGate(
        "observational or comparative evidence for tier B",
        "E1.4",
        "evidence_of_benefit_study",
        lambda p: p.esf_tier == "B",
        mode="scored",
    ),
    KeyGate(
        "high-quality comparative evidence for tier C",
        "E1.5",
        "evidence_of_benefit_study",
        lambda p: p.esf_tier == "C",
        mode="scored",
    ),
]


@pytest.mark.parametrize("case", KEY_CRITERIA, ids=lambda case: case.name)
def test_key_criteria_apply_to_exactly_the_right_profiles(case: KeyGate) -> None:
    found = criterion(case.code)
    assert found.mode == case.mode
    if case.document_type is not None:
        assert case.document_type in found.evidence.document_types
    wrong = [p for p in PROFILES if applies(found, p) != case.expected(p)]
    assert wrong == [], f"{case.code} applicability is wrong for {len(wrong)} profiles: {wrong[0]}"


def required_document_types(p: ProductProfile) -> set[str]:
    return {t for c in applicable_criteria(DOC, p) for t in c.evidence.document_types}


@pytest.mark.parametrize("document_type", ["clinical_safety_case_report", "hazard_log"])
def test_clinical_safety_file_for_tiers_b_and_c_and_every_medical_device(
    document_type: str,
) -> None:
    for p in PROFILES:
        expected = p.esf_tier in ("B", "C") or is_device(p)
        assert (document_type in required_document_types(p)) == expected, p


@dataclass(frozen=True)
class Lapsing:
    name: str
    code: str
    expiry_required: bool
    max_age_days: int | None


LAPSING_EVIDENCE = [
    Lapsing("penetration test within 12 months, with expiry", "C3.3", True, 365),
    Lapsing("Cyber Essentials with expiry", "C3.1", True, None),
    Lapsing("Cyber Essentials Plus with expiry", "C3.2", True, None),
    Lapsing("DSPT with expiry", "C2.4", True, None),
    Lapsing("Approved Body certificate with expiry", "C1.7", True, None),
    Lapsing("DPIA reviewed within a year", "C2.3", False, 365),
]


@pytest.mark.parametrize("case", LAPSING_EVIDENCE, ids=lambda case: case.name)
def test_lapsing_evidence(case: Lapsing) -> None:
    evidence = criterion(case.code).evidence
    assert (evidence.expiry_required, evidence.max_age_days) == (
        case.expiry_required,
        case.max_age_days,
    )


def test_every_profile_has_something_to_score_in_each_scored_section() -> None:
    # Otherwise a section's percentage would be taken over nothing.
    scored_sections = [s for s in DOC.sections if any(c.mode == "scored" for c in s.criteria)]
    assert [s.code for s in scored_sections] == ["C4", "D1", "E1"]
    for p in PROFILES:
        for section in scored_sections:
            assert any(c.mode == "scored" and applies(c, p) for c in section.criteria), (
                section.code,
                p,
            )
