"""Criteria sets (DESIGN §3) on the wire: the published document and how the API lists it.

The document itself, and the product profile, are the domain's model
(``registry.domain.criteria_document``); they are re-exported here for the API's Structs.
"""

from __future__ import annotations

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
    Choice,
    Condition,
    CriteriaSetDocument,
    CriteriaSetKey,
    CriteriaSetVersion,
    Criterion,
    CriterionCode,
    CriterionMode,
    DeviceClass,
    EsfTier,
    EvidenceRequirement,
    LongText,
    Percent,
    Points,
    ProductProfile,
    ResponseType,
    ReviewPolicy,
    Section,
    SectionCode,
    Sha256Hex,
    Title,
)
from schemas.base import Response, UtcTime

__all__ = [
    "CRITERIA_SET_KEY_PATTERN",
    "CRITERION_CODE_PATTERN",
    "MAX_AGE_DAYS",
    "MAX_CHOICE_CHARS",
    "MAX_POINTS",
    "MAX_REQUIRED_REVIEWS",
    "MAX_TEXT_CHARS",
    "MAX_TITLE_CHARS",
    "MAX_VALIDITY_DAYS",
    "SECTION_CODE_PATTERN",
    "Choice",
    "Condition",
    "CriteriaSetDocument",
    "CriteriaSetKey",
    "CriteriaSetList",
    "CriteriaSetOut",
    "CriteriaSetSummary",
    "CriteriaSetVersion",
    "Criterion",
    "CriterionCode",
    "CriterionMode",
    "DeviceClass",
    "EsfTier",
    "EvidenceRequirement",
    "LongText",
    "Percent",
    "Points",
    "ProductProfile",
    "ResponseType",
    "ReviewPolicy",
    "Section",
    "SectionCode",
    "Sha256Hex",
    "Title",
]


class CriteriaSetSummary(Response, frozen=True):
    """A published criteria set version, as listings show it."""

    key: str
    version: int
    title: str
    sha256: Sha256Hex
    published_at: UtcTime
    criteria_count: int


class CriteriaSetOut(Response, frozen=True):
    """A published criteria set version with its full document."""

    key: str
    version: int
    sha256: Sha256Hex
    published_at: UtcTime
    document: CriteriaSetDocument


class CriteriaSetList(Response, frozen=True):
    """Every published criteria set version."""

    items: list[CriteriaSetSummary]
