"""WeasyPrint templates and rendering: nothing else renders PDFs (DESIGN §8).

Public entry points: ``render_certificate`` (one A4 "good to go" certificate) and
``render_assessment_report`` (the full assessment, multi-page). Both take frozen views of plain
values, escape every supplier string, and fetch nothing: no network, no files.
"""

from __future__ import annotations

from reports.assessment import (
    CriterionLine,
    EvidenceLine,
    Rationale,
    ReportView,
    ReviewSummary,
    SectionResult,
    TimelineEntry,
    render_assessment_report,
)
from reports.certificate import CertificateView, SectionOutcome, render_certificate
from reports.fetcher import FetchRefused, RefusingFetcher
from reports.qr import MAX_QR_VERSION, QrTooLarge

__all__ = [
    "MAX_QR_VERSION",
    "CertificateView",
    "CriterionLine",
    "EvidenceLine",
    "FetchRefused",
    "QrTooLarge",
    "Rationale",
    "RefusingFetcher",
    "ReportView",
    "ReviewSummary",
    "SectionOutcome",
    "SectionResult",
    "TimelineEntry",
    "render_assessment_report",
    "render_certificate",
]
