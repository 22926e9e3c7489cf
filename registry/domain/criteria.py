"""Criteria sets (DESIGN §3): the rules a document must meet before it can be published,
which criteria apply to a product, and what a well-formed answer is.

A criteria set is valid when:
- its key is a lowercase slug, its version an integer ≥ 1, its title non-blank;
- the review policy asks for 1..5 reviews, a tolerance of 0..100 points and 1..1825 validity days;
- it has at least one section and every section at least one criterion;
- section codes are unique (``C1``), criterion codes are unique across the whole set, are not also
  section codes, and extend their section's code (``C1.2`` in ``C1``; ``D1`` in ``D``);
- thresholds are whole percentages 0..100, and a section without scored criteria has threshold 0
  (there is nothing for a percentage to be taken over);
- a ``scored`` criterion has integer ``max_score`` and ``weight`` in 1..100; a ``gate`` has neither;
- ``choices`` are given (non-empty, non-blank, unique) exactly when the response type is ``choice``;
- evidence document types come from ``DOCUMENT_TYPES``, each listed once; ``expiry_required`` and
  ``max_age_days`` (1..3650) only come with at least one document type;
- every ``applies_if`` condition names a ``ProductProfile`` field (at most once per criterion) and
  lists, without repeats, only values that field can take (booleans for yes/no fields).
Every number is an integer and booleans never count as numbers, so the canonical JSON is exact.
The first problem found, in document order, is raised as ``InvalidInput`` with a JSON-path-like
``field`` (``sections[2].criteria[0].applies_if[0].field``).

A criterion applies to a product when every ``applies_if`` condition holds: the profile's field
equals one of ``any_of``, type included (the string "true" never matches ``true``). A listed
evidence document type means at least one document of that type; every listed type is needed.

An answer is stored in one canonical form per response type: ``yes_no`` a boolean; ``yes_no_na``
one of "yes", "no", "na"; ``text`` stripped, 1..10,000 characters; ``date`` "YYYY-MM-DD" naming a
real day; ``choice`` exactly one of the choices; ``number`` an integer within ±(2**53 − 1), never a
boolean or a float. ``null`` clears an answer.
"""

from __future__ import annotations

import datetime
import re
import typing
from collections.abc import Sequence

import msgspec

from registry.domain.canonical import canonical_digest
from registry.domain.criteria_document import (
    CRITERIA_SET_KEY_PATTERN,
    CRITERION_CODE_PATTERN,
    MAX_AGE_DAYS,
    MAX_CHOICE_CHARS,
    MAX_POINTS,
    MAX_REQUIRED_REVIEWS,
    MAX_TEXT_CHARS,
    MAX_TITLE_CHARS,
    MAX_VALIDITY_DAYS,
    SECTION_CODE_PATTERN,
    Condition,
    CriteriaSetDocument,
    Criterion,
    CriterionMode,
    EvidenceRequirement,
    ProductProfile,
    ResponseType,
    ReviewPolicy,
    Section,
)
from registry.errors import InvalidInput

AnswerValue = str | int | bool | None


def _profile_fields() -> dict[str, tuple[str | bool, ...]]:
    # Read from the Struct so that a new profile field or value cannot drift from this table.
    fields: dict[str, tuple[str | bool, ...]] = {}
    for name, annotation in typing.get_type_hints(ProductProfile).items():
        if annotation is bool:
            fields[name] = (True, False)
        elif typing.get_origin(annotation) is typing.Literal:
            fields[name] = tuple(typing.get_args(annotation))
        else:  # pragma: no cover - guards a future profile field applies_if cannot express
            raise TypeError(f"ProductProfile.{name} must be a bool or a Literal of strings")
    return fields


PROFILE_FIELDS: dict[str, tuple[str | bool, ...]] = _profile_fields()

# The kinds of evidence a supplier uploads (DOMAIN.md), with the words people read for each;
# `other` is anything a reviewer asks for.
DOCUMENT_TYPE_NAMES: dict[str, str] = {
    "clinical_risk_management_plan": "clinical risk management plan",
    "clinical_safety_case_report": "clinical safety case report",
    "hazard_log": "hazard log",
    "mhra_registration": "MHRA registration",
    "ukca_ce_certificate": "UKCA or CE certificate",
    "ico_registration": "ICO registration",
    "dpia": "data protection impact assessment (DPIA)",
    "dspt_assessment": "Data Security and Protection Toolkit (DSPT) assessment",
    "cyber_essentials_certificate": "Cyber Essentials certificate",
    "cyber_essentials_plus_certificate": "Cyber Essentials Plus certificate",
    "penetration_test_report": "penetration test report",
    "api_documentation": "API documentation",
    "fhir_conformance_statement": "FHIR conformance statement",
    "accessibility_statement": "accessibility statement",
    "wcag_audit": "WCAG audit",
    "user_research_report": "user research report",
    "evidence_of_benefit_study": "evidence of benefit study",
    "economic_evaluation": "economic evaluation",
    "policy_document": "policy document",
    "other": "document",
}
DOCUMENT_TYPES: frozenset[str] = frozenset(DOCUMENT_TYPE_NAMES)


def document_type_name(document_type: str) -> str:
    """The words people read for a document type (its code when it is not one we know)."""
    return DOCUMENT_TYPE_NAMES.get(document_type, document_type.replace("_", " "))


# Large enough for any count a criterion asks for, small enough that every JSON reader holds it
# exactly (IEEE 754 doubles are exact up to 2**53).
MAX_EXACT_INTEGER = 2**53 - 1
YES_NO_NA = ("yes", "no", "na")
RESPONSE_TYPES: tuple[str, ...] = typing.get_args(ResponseType)
CRITERION_MODES: tuple[str, ...] = typing.get_args(CriterionMode)

_KEY = re.compile(CRITERIA_SET_KEY_PATTERN)
_SECTION_CODE = re.compile(SECTION_CODE_PATTERN)
_CRITERION_CODE = re.compile(CRITERION_CODE_PATTERN)
_ISO_DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")


def _describe(value: object) -> str:
    """Name a found value in an error message: its JSON kind and a short rendering."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"boolean {'true' if value else 'false'}"
    if isinstance(value, int):
        return f"integer {value}"
    if isinstance(value, float):
        return f"number {value!r}"
    if isinstance(value, str):
        shown = value if len(value) <= 40 else value[:40] + "…"
        return f"string {shown!r}"
    if isinstance(value, list | tuple):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def _render(option: str | bool) -> str:
    if isinstance(option, bool):
        return "true" if option else "false"
    return option


def _is_int(value: object) -> bool:
    # bool is a subclass of int in Python, but `true` is not a number in a criteria set.
    return isinstance(value, int) and not isinstance(value, bool)


def _check_int(value: object, low: int, high: int, field: str) -> None:
    if not _is_int(value) or not low <= typing.cast(int, value) <= high:
        raise InvalidInput(
            f"expected an integer from {low} to {high}, found {_describe(value)}", field=field
        )


def _check_text(value: str, max_chars: int, field: str, *, blank_ok: bool = False) -> None:
    if not blank_ok and not value.strip():
        raise InvalidInput("expected non-blank text, found an empty or blank string", field=field)
    if len(value) > max_chars:
        raise InvalidInput(
            f"expected at most {max_chars} characters, found {len(value)}", field=field
        )


def _same(left: object, right: object) -> bool:
    # Compare with the type, so the string "true" never matches True (nor 1 match True).
    return type(left) is type(right) and left == right


def _extends(section_code: str, criterion_code: str) -> bool:
    """Whether ``criterion_code`` is numbered under ``section_code`` (C1 → C1.2; D → D1)."""
    if len(criterion_code) <= len(section_code) or not criterion_code.startswith(section_code):
        return False
    following = criterion_code[len(section_code)]
    return following == "." if section_code[-1].isdigit() else following.isdigit()


def _check_policy(policy: ReviewPolicy, field: str) -> None:
    _check_int(policy.required_reviews, 1, MAX_REQUIRED_REVIEWS, f"{field}.required_reviews")
    _check_int(policy.tolerance_points, 0, 100, f"{field}.tolerance_points")
    _check_int(policy.default_validity_days, 1, MAX_VALIDITY_DAYS, f"{field}.default_validity_days")


def _check_conditions(conditions: Sequence[Condition], field: str) -> None:
    seen_fields: set[str] = set()
    for index, condition in enumerate(conditions):
        here = f"{field}[{index}]"
        allowed = PROFILE_FIELDS.get(condition.field)
        if allowed is None:
            raise InvalidInput(
                f"expected a product profile field ({', '.join(PROFILE_FIELDS)}), "
                f"found {_describe(condition.field)}",
                field=f"{here}.field",
            )
        if condition.field in seen_fields:
            raise InvalidInput(
                f"expected each profile field once per criterion, "
                f"found {condition.field!r} again (list all its values in one any_of)",
                field=f"{here}.field",
            )
        seen_fields.add(condition.field)
        if not condition.any_of:
            raise InvalidInput("expected at least one value, found none", field=f"{here}.any_of")
        for value_index, value in enumerate(condition.any_of):
            value_field = f"{here}.any_of[{value_index}]"
            if not any(_same(value, option) for option in allowed):
                shown = ", ".join(_render(option) for option in allowed)
                raise InvalidInput(
                    f"expected a value of {condition.field} ({shown}), found {_describe(value)}",
                    field=value_field,
                )
            if any(_same(value, earlier) for earlier in condition.any_of[:value_index]):
                raise InvalidInput(
                    f"expected each value once, found {_describe(value)} again", field=value_field
                )


def _check_evidence(evidence: EvidenceRequirement, field: str) -> None:
    seen: set[str] = set()
    for index, document_type in enumerate(evidence.document_types):
        here = f"{field}.document_types[{index}]"
        if document_type not in DOCUMENT_TYPES:
            raise InvalidInput(
                f"expected a known evidence document type, found {_describe(document_type)}",
                field=here,
            )
        if document_type in seen:
            raise InvalidInput(
                f"expected each document type once, found {document_type!r} again", field=here
            )
        seen.add(document_type)
    if evidence.expiry_required is not False and evidence.expiry_required is not True:
        raise InvalidInput(
            f"expected true or false, found {_describe(evidence.expiry_required)}",
            field=f"{field}.expiry_required",
        )
    if evidence.expiry_required and not evidence.document_types:
        raise InvalidInput(
            "expected expiry_required only with at least one document type, found none",
            field=f"{field}.expiry_required",
        )
    if evidence.max_age_days is not None:
        _check_int(evidence.max_age_days, 1, MAX_AGE_DAYS, f"{field}.max_age_days")
        if not evidence.document_types:
            raise InvalidInput(
                "expected max_age_days only with at least one document type, found none",
                field=f"{field}.max_age_days",
            )


def _check_choices(criterion: Criterion, field: str) -> None:
    if criterion.response_type != "choice":
        if criterion.choices is not None:
            raise InvalidInput(
                f"expected no choices for response type {criterion.response_type}, "
                f"found {len(criterion.choices)}",
                field=f"{field}.choices",
            )
        return
    if not criterion.choices:
        raise InvalidInput(
            "expected at least one choice for response type choice, "
            f"found {_describe(criterion.choices)}",
            field=f"{field}.choices",
        )
    for index, choice in enumerate(criterion.choices):
        here = f"{field}.choices[{index}]"
        _check_text(choice, MAX_CHOICE_CHARS, here)
        if choice in criterion.choices[:index]:
            raise InvalidInput(f"expected each choice once, found {choice!r} again", field=here)


def _check_mode(criterion: Criterion, field: str) -> None:
    if criterion.mode == "gate":
        for name in ("max_score", "weight"):
            value = getattr(criterion, name)
            if value is not None:
                raise InvalidInput(
                    f"expected no {name} on a gate criterion (gates pass or fail), "
                    f"found {_describe(value)}",
                    field=f"{field}.{name}",
                )
        return
    _check_int(criterion.max_score, 1, MAX_POINTS, f"{field}.max_score")
    _check_int(criterion.weight, 1, MAX_POINTS, f"{field}.weight")


def _check_criterion(criterion: Criterion, section: Section, field: str) -> None:
    if not _CRITERION_CODE.fullmatch(criterion.code):
        raise InvalidInput(
            f"expected a criterion code like C1.2, found {_describe(criterion.code)}",
            field=f"{field}.code",
        )
    if not _extends(section.code, criterion.code):
        example = f"{section.code}.1" if section.code[-1].isdigit() else f"{section.code}1"
        raise InvalidInput(
            f"expected a code numbered under section {section.code} (like {example}), "
            f"found {criterion.code!r}",
            field=f"{field}.code",
        )
    _check_text(criterion.title, MAX_TITLE_CHARS, f"{field}.title")
    _check_text(criterion.guidance, MAX_TEXT_CHARS, f"{field}.guidance")
    if criterion.response_type not in RESPONSE_TYPES:
        raise InvalidInput(
            f"expected a response type ({', '.join(RESPONSE_TYPES)}), "
            f"found {_describe(criterion.response_type)}",
            field=f"{field}.response_type",
        )
    _check_choices(criterion, field)
    _check_evidence(criterion.evidence, f"{field}.evidence")
    _check_conditions(criterion.applies_if, f"{field}.applies_if")
    if criterion.mode not in CRITERION_MODES:
        raise InvalidInput(
            f"expected mode gate or scored, found {_describe(criterion.mode)}",
            field=f"{field}.mode",
        )
    _check_mode(criterion, field)


def validate_criteria_set(doc: CriteriaSetDocument) -> None:
    """Check every rule in this module's docstring; raise ``InvalidInput`` at the first breach."""
    if not _KEY.fullmatch(doc.key):
        raise InvalidInput(
            f"expected a lowercase slug (letters, digits, hyphens; 2-63 characters), "
            f"found {_describe(doc.key)}",
            field="key",
        )
    _check_int(doc.version, 1, MAX_EXACT_INTEGER, "version")
    _check_text(doc.title, MAX_TITLE_CHARS, "title")
    _check_text(doc.description, MAX_TEXT_CHARS, "description", blank_ok=True)
    _check_policy(doc.review_policy, "review_policy")
    if not doc.sections:
        raise InvalidInput("expected at least one section, found none", field="sections")

    section_codes = {section.code for section in doc.sections}
    seen_sections: set[str] = set()
    seen_criteria: set[str] = set()
    for section_index, section in enumerate(doc.sections):
        here = f"sections[{section_index}]"
        if not _SECTION_CODE.fullmatch(section.code):
            raise InvalidInput(
                f"expected a section code like C1 or D, found {_describe(section.code)}",
                field=f"{here}.code",
            )
        if section.code in seen_sections:
            raise InvalidInput(
                f"expected unique section codes, found {section.code!r} again",
                field=f"{here}.code",
            )
        seen_sections.add(section.code)
        _check_text(section.title, MAX_TITLE_CHARS, f"{here}.title")
        _check_int(section.threshold_percent, 0, 100, f"{here}.threshold_percent")
        if not section.criteria:
            raise InvalidInput(
                f"expected at least one criterion in section {section.code}, found none",
                field=f"{here}.criteria",
            )
        for criterion_index, criterion in enumerate(section.criteria):
            field = f"{here}.criteria[{criterion_index}]"
            _check_criterion(criterion, section, field)
            if criterion.code in seen_criteria:
                raise InvalidInput(
                    f"expected criterion codes unique across the set, "
                    f"found {criterion.code!r} again",
                    field=f"{field}.code",
                )
            if criterion.code in section_codes:
                raise InvalidInput(
                    f"expected a criterion code distinct from every section code, "
                    f"found {criterion.code!r}, which is also a section",
                    field=f"{field}.code",
                )
            seen_criteria.add(criterion.code)
        if section.threshold_percent != 0 and not any(
            criterion.mode == "scored" for criterion in section.criteria
        ):
            raise InvalidInput(
                f"expected threshold 0 for section {section.code}, which has only gate "
                f"criteria, found {section.threshold_percent}",
                field=f"{here}.threshold_percent",
            )


def applies(criterion: Criterion, profile: ProductProfile) -> bool:
    """Whether every ``applies_if`` condition holds for ``profile`` (no conditions: always)."""
    for condition in criterion.applies_if:
        if condition.field not in PROFILE_FIELDS:
            raise InvalidInput(
                f"expected a product profile field, found {_describe(condition.field)}",
                field="applies_if",
            )
        actual = getattr(profile, condition.field)
        if not any(_same(actual, value) for value in condition.any_of):
            return False
    return True


def applicable_criteria(doc: CriteriaSetDocument, profile: ProductProfile) -> list[Criterion]:
    """The criteria of ``doc`` that apply to ``profile``, in document order."""
    return [
        criterion
        for section in doc.sections
        for criterion in section.criteria
        if applies(criterion, profile)
    ]


def find_criterion(doc: CriteriaSetDocument, code: str) -> Criterion | None:
    """The criterion with ``code`` anywhere in ``doc``, or None."""
    for section in doc.sections:
        for criterion in section.criteria:
            if criterion.code == code:
                return criterion
    return None


def _wrong_type(expected: str, value: object) -> InvalidInput:
    return InvalidInput(f"expected {expected}, found {_describe(value)}", field="value")


def validate_answer(criterion: Criterion, value: object) -> AnswerValue:
    """Check an answer against the criterion's response type and return the value to store.

    ``None`` clears an answer and is returned as is; every other value must fit the type.
    """
    if value is None:
        return None
    kind = criterion.response_type
    if kind == "yes_no":
        if not isinstance(value, bool):
            raise _wrong_type("true or false for a yes_no criterion", value)
        return value
    if kind == "yes_no_na":
        if not isinstance(value, str) or value not in YES_NO_NA:
            raise _wrong_type('"yes", "no" or "na" for a yes_no_na criterion', value)
        return value
    if kind == "text":
        if not isinstance(value, str):
            raise _wrong_type("text for a text criterion", value)
        text = value.strip()
        if not text:
            raise _wrong_type("non-blank text", value)
        if len(text) > MAX_TEXT_CHARS:
            raise InvalidInput(
                f"expected at most {MAX_TEXT_CHARS} characters, found {len(text)}", field="value"
            )
        return text
    if kind == "date":
        return _validate_date(value)
    if kind == "choice":
        choices = criterion.choices or []
        if not isinstance(value, str) or value not in choices:
            listed = ", ".join(repr(choice) for choice in choices)
            raise _wrong_type(f"one of {listed}", value)
        return value
    if kind == "number":
        if not _is_int(value):
            raise _wrong_type("a whole number for a number criterion", value)
        number = typing.cast(int, value)
        if abs(number) > MAX_EXACT_INTEGER:
            raise InvalidInput(
                f"expected a whole number from {-MAX_EXACT_INTEGER} to {MAX_EXACT_INTEGER}, "
                f"found {number}",
                field="value",
            )
        return number
    raise InvalidInput(
        f"expected a known response type, found {_describe(kind)}", field="response_type"
    )


def _validate_date(value: object) -> str:
    # ISO 8601 calendar date only: fromisoformat alone would also take 20260101 or week dates.
    if not isinstance(value, str) or not _ISO_DATE.fullmatch(value):
        raise _wrong_type("a date as YYYY-MM-DD", value)
    try:
        datetime.date.fromisoformat(value)
    except ValueError:
        raise InvalidInput(
            f"expected a real calendar date as YYYY-MM-DD, found {_describe(value)}",
            field="value",
        ) from None
    return value


def criteria_set_digest(doc: CriteriaSetDocument) -> str:
    """Hex SHA-256 of the canonical JSON of ``doc``: the criteria set's identity."""
    return canonical_digest(msgspec.to_builtins(doc))
