"""The criteria-set document (DESIGN §3) and the product profile its conditions read.

These are the domain's own model of a criteria set: what an admin publishes, what the registry
hashes (canonical JSON, so every number is an integer) and what the rules in
``registry.domain.criteria`` read. The API's wire shapes (``schemas.criteria``) re-export them.
The constraints below are checked when a document is decoded; the rules that span fields
(unique codes, ``applies_if`` over the product profile, gate vs scored) live in
``registry.domain.criteria.validate_criteria_set``.
"""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec


class DocumentStruct(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """A part of a criteria document as it is decoded: keyword-only, unknown fields refused."""


# Limits registry.domain.criteria re-checks on Structs built in code.
MAX_TITLE_CHARS = 200
MAX_TEXT_CHARS = 10_000
MAX_CHOICE_CHARS = 200
MAX_POINTS = 100
MAX_AGE_DAYS = 3650
MAX_VALIDITY_DAYS = 1825
MAX_REQUIRED_REVIEWS = 5

CRITERIA_SET_KEY_PATTERN = r"^[a-z0-9][a-z0-9-]{1,62}$"
SECTION_CODE_PATTERN = r"^[A-Z]([0-9]+(\.[0-9]+)*)?$"
CRITERION_CODE_PATTERN = r"^[A-Z][0-9]+(\.[0-9]+)*$"

EsfTier = Literal["A", "B", "C"]
DeviceClass = Literal["none", "I", "IIa", "IIb", "III"]
ResponseType = Literal["yes_no", "yes_no_na", "text", "date", "choice", "number"]
CriterionMode = Literal["gate", "scored"]

CriteriaSetKey = Annotated[
    str,
    msgspec.Meta(
        pattern=CRITERIA_SET_KEY_PATTERN,
        description="lowercase slug naming the criteria set across its versions",
        examples=["kitemark-core"],
    ),
]
CriteriaSetVersion = Annotated[int, msgspec.Meta(ge=1, description="version number, from 1")]
Sha256Hex = Annotated[
    str, msgspec.Meta(pattern=r"^[0-9a-f]{64}$", description="hex SHA-256 of canonical JSON")
]
SectionCode = Annotated[
    str,
    msgspec.Meta(pattern=SECTION_CODE_PATTERN, max_length=20, examples=["C1", "D1"]),
]
CriterionCode = Annotated[
    str,
    msgspec.Meta(pattern=CRITERION_CODE_PATTERN, max_length=20, examples=["C1.2", "E2.1"]),
]
Title = Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_TITLE_CHARS, pattern=r"\S")]
LongText = Annotated[str, msgspec.Meta(max_length=MAX_TEXT_CHARS)]
Choice = Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_CHOICE_CHARS, pattern=r"\S")]
Points = Annotated[int, msgspec.Meta(ge=1, le=MAX_POINTS)]
Percent = Annotated[int, msgspec.Meta(ge=0, le=100, description="whole percentage")]


class ProductProfile(DocumentStruct, kw_only=True):
    """The facts about a product that decide which criteria apply to it (``applies_if``)."""

    esf_tier: Annotated[EsfTier, msgspec.Meta(description="NICE Evidence Standards tier")]
    medical_device_class: Annotated[
        DeviceClass, msgspec.Meta(description="UK MDR class, or none if not a medical device")
    ]
    processes_personal_data: bool
    integrates_with_clinical_systems: bool
    patient_facing: bool


class Condition(DocumentStruct, kw_only=True):
    """Holds when the profile's ``field`` equals one of ``any_of``."""

    field: Annotated[
        str,
        msgspec.Meta(max_length=64, description="a ProductProfile field", examples=["esf_tier"]),
    ]
    any_of: Annotated[list[str | bool], msgspec.Meta(min_length=1, max_length=20)]


class EvidenceRequirement(DocumentStruct, kw_only=True):
    """Which documents back an answer: at least one file of every listed type."""

    document_types: Annotated[
        list[str],
        msgspec.Meta(max_length=10, description="evidence document types; empty: none needed"),
    ]
    expiry_required: Annotated[
        bool, msgspec.Meta(description="each document must state when it expires")
    ] = False
    max_age_days: (
        Annotated[
            int,
            msgspec.Meta(
                ge=1, le=MAX_AGE_DAYS, description="each document must be at most this old"
            ),
        ]
        | None
    ) = None


class Criterion(DocumentStruct, kw_only=True):
    """One question a supplier answers and reviewers judge: a pass/fail gate or scored 0..max."""

    code: CriterionCode
    title: Title
    guidance: LongText
    response_type: ResponseType
    choices: Annotated[list[Choice], msgspec.Meta(min_length=1, max_length=50)] | None = None
    evidence: EvidenceRequirement
    applies_if: Annotated[
        list[Condition],
        msgspec.Meta(max_length=5, description="all must hold; empty: always applies"),
    ] = msgspec.field(default_factory=list)
    mode: CriterionMode
    max_score: Annotated[Points, msgspec.Meta(description="scored only")] | None = None
    weight: Annotated[Points, msgspec.Meta(description="scored only")] | None = None


class Section(DocumentStruct, kw_only=True):
    """A group of criteria with the whole percentage its scored criteria must reach."""

    code: SectionCode
    title: Title
    threshold_percent: Percent
    criteria: Annotated[list[Criterion], msgspec.Meta(min_length=1, max_length=200)]


class ReviewPolicy(DocumentStruct, kw_only=True):
    """How many independent reviews a dossier needs, and when they must be moderated."""

    required_reviews: Annotated[int, msgspec.Meta(ge=1, le=MAX_REQUIRED_REVIEWS)] = 2
    tolerance_points: Annotated[
        int,
        msgspec.Meta(
            ge=0, le=100, description="percentage points two reviewers' section scores may differ"
        ),
    ]
    default_validity_days: Annotated[int, msgspec.Meta(ge=1, le=MAX_VALIDITY_DAYS)] = 365


class CriteriaSetDocument(DocumentStruct, kw_only=True):
    """A criteria set as published: immutable, identified by its canonical SHA-256."""

    key: CriteriaSetKey
    version: CriteriaSetVersion
    title: Title
    description: LongText
    review_policy: ReviewPolicy
    sections: Annotated[list[Section], msgspec.Meta(min_length=1, max_length=50)]
