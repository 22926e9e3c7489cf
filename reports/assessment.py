"""The assessment report: every applicable criterion with its outcome and the reviewers'
rationale, each reviewer's summary (as "Reviewer 1", "Reviewer 2", "Moderator"), section charts,
the evidence relied on (SHA-256, expiry) and the review timeline.

Multi-page; the same escaping and no-fetch rendering as the certificate (``reports.pdf``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import NamedTuple

from markupsafe import Markup

from registry.domain.dates import long_date
from reports.certificate import DEVICE_CLASSES, ESF_TIERS, SectionOutcome, display_id
from reports.charts import bar_chart_svg
from reports.pdf import html_to_pdf, render_html


class Rationale(NamedTuple):
    """One reviewer's reasoning on one criterion."""

    reviewer: str  # "Reviewer 1", "Reviewer 2", or "Moderator": never a person's identity
    text: str


class CriterionLine(NamedTuple):
    """One applicable criterion and how it was judged."""

    section: str  # the section code it belongs to
    code: str
    title: str
    mode: str  # "gate" | "scored"
    outcome: str  # plain words: "Met", "Not met", "3 of 4", "Not applicable"
    score: int | None  # scored criteria: the agreed score
    max_score: int | None
    rationale: Sequence[Rationale | tuple[str, str]]


class EvidenceLine(NamedTuple):
    """One evidence file the assessment relied on."""

    name: str
    document_type: str
    sha256: str  # hex
    expires_on: date | int | None  # None: no expiry recorded
    verification: str  # "checked at source" | "declared by the supplier"
    criteria: Sequence[str]  # the criterion codes it supports


class ReviewSummary(NamedTuple):
    """What one reviewer (or the moderator) concluded, under their label only."""

    label: str  # "Reviewer 1", "Reviewer 2", "Moderator"
    recommendation: str  # plain words: "Approve", "Changes requested", "Reject"
    summary: str


class TimelineEntry(NamedTuple):
    """One review event, e.g. (date, "Submitted as revision 2")."""

    when: date | int
    event: str


SectionResult = SectionOutcome


@dataclass(frozen=True, slots=True)
class ReportView:
    """Everything the assessment report prints, as plain values."""

    product_name: str
    product_version: str
    supplier_name: str
    intended_purpose: str
    esf_tier: str
    device_class: str
    criteria_set_ref: str
    criteria_set_title: str
    criteria_set_sha256: str
    dossier_sha256: str  # the frozen revision's digest a certificate names
    revision: int
    decision: str  # plain words: "Approved", "Changes requested", "Rejected"
    generated_at: date | int
    sections: Sequence[SectionOutcome | tuple[str, str, int | None, int, bool | None, str]]
    criteria: Sequence[CriterionLine]
    evidence: Sequence[EvidenceLine]
    timeline: Sequence[TimelineEntry | tuple[date | int, str]]
    reviews: Sequence[ReviewSummary | tuple[str, str, str]] = ()
    certificate_id: str | None = None  # None when no certificate was issued
    registry_name: str = "Kitemark Registry"


def render_assessment_report(view: ReportView) -> bytes:
    """The assessment report PDF for ``view``."""
    outcomes = [SectionOutcome(*item) for item in view.sections]
    criteria = [CriterionLine(*item) for item in view.criteria]  # plain tuples work too
    sections = [
        {
            "s": section,
            "chart": _chart(section.percent, section.threshold),
            "criteria": [_criterion_row(c) for c in criteria if c.section == section.code],
        }
        for section in outcomes
    ]
    known = {section.code for section in outcomes}
    # A criterion whose section is missing from ``sections`` is still printed, never dropped.
    orphans = [_criterion_row(c) for c in criteria if c.section not in known]
    context = {
        "v": view,
        "certificate_id": display_id(view.certificate_id) if view.certificate_id else None,
        "generated": long_date(view.generated_at),
        "esf_text": ESF_TIERS.get(view.esf_tier, f"Tier {view.esf_tier}"),
        "device_text": DEVICE_CLASSES.get(view.device_class, view.device_class),
        "sections": sections,
        "orphans": orphans,
        "evidence": [
            {"e": e, "expires": long_date(e.expires_on) if e.expires_on is not None else None}
            for e in (EvidenceLine(*item) for item in view.evidence)
        ],
        "timeline": [{"when": long_date(entry[0]), "event": entry[1]} for entry in view.timeline],
        "reviews": [ReviewSummary(*item) for item in view.reviews],
    }
    return html_to_pdf(render_html("assessment.html", context))


def _chart(percent: int | None, threshold: int | None) -> Markup | None:
    if percent is None:
        return None
    return Markup(bar_chart_svg(percent, threshold))  # noqa: S704 — numbers only, no input text


def _criterion_row(criterion: CriterionLine) -> dict[str, object]:
    chart = None
    if criterion.mode == "scored" and criterion.score is not None and criterion.max_score:
        # Same rounding as the decision rule: whole percent, half up, integers only.
        num, den = criterion.score, criterion.max_score
        chart = _chart(min(100, max(0, (200 * num + den) // (2 * den))), None)
    return {
        "c": criterion,
        "chart": chart,
        "rationale": [Rationale(*item) for item in criterion.rationale],
    }
