"""Certificates after issuance: public reads, the stored PDF, status changes, the full report."""

from __future__ import annotations

import datetime as dt
import uuid

import anyio
import msgspec

from registry import clock
from registry.blobs import blob_store
from registry.db import write_transaction
from registry.domain.certificate import Reason, StatusAction, shown_status
from registry.domain.certificate_id import normalise_certificate_id
from registry.domain.dates import as_datetime
from registry.domain.dossier import decode_frozen
from registry.domain.identity import Principal
from registry.errors import NotFound
from registry.records import (
    CertificateEventRecord,
    CertificateRecord,
    ModerationCaseRecord,
    Record,
    ReviewScoreRecord,
    RevisionRecord,
    fetch,
    fetch_one,
)
from registry.services import access, certificate_status, criteria, feedback
from registry.services.audit import Actor
from registry.services.feedback import Judged
from registry.tables import (
    Certificate,
    CertificateEvent,
    Evidence,
    ModerationCase,
    ReviewScore,
    ReviewSlot,
    Revision,
)
from reports import (
    CriterionLine,
    EvidenceLine,
    ReportView,
    ReviewSummary,
    SectionOutcome,
    TimelineEntry,
    render_assessment_report,
)
from schemas.certificate import CertificateOut, SectionResult, StatusChange, StatusEvent


async def row_by_id(certificate_id: str) -> CertificateRecord:
    """The certificate for a typed ID (normalised; a mistyped one is 422 before any lookup)."""
    display = normalise_certificate_id(certificate_id)
    row = await fetch_one(
        Certificate.select().where(Certificate.certificate_id == display), CertificateRecord
    )
    if row is None:
        raise NotFound(f"no certificate {display} in the registry")
    return row


async def history(row: CertificateRecord) -> list[StatusEvent]:
    """A certificate's events, oldest first."""
    events = await fetch(
        CertificateEvent.select()
        .where(CertificateEvent.certificate == row.id)
        .order_by(CertificateEvent.at, CertificateEvent._meta.primary_key),
        CertificateEventRecord,
    )
    return [
        StatusEvent(
            at=as_datetime(e.at),
            action=e.action,
            status=e.status,
            reason=Reason(e.reason) if e.reason else None,
            note=e.note,
        )
        for e in events
    ]


async def certificate_out(row: CertificateRecord, now: int | None = None) -> CertificateOut:
    """The public view of a certificate row, with its status as of ``now``."""
    now = clock.now() if now is None else now
    return CertificateOut(
        certificate_id=row.certificate_id,
        status=shown_status(row.status, row.valid_until, now),
        status_reason=Reason(row.status_reason) if row.status_reason else None,
        status_note=row.status_note,
        status_changed_at=as_datetime(row.status_changed_at),
        superseded_by=row.superseded_by,
        product_name=row.product_name,
        product_version=row.product_version,
        supplier_name=row.supplier_name,
        intended_purpose=row.intended_purpose,
        esf_tier=row.esf_tier,
        device_class=row.device_class,
        criteria_set=row.criteria_set,
        criteria_set_sha256=row.criteria_sha256,
        dossier_sha256=row.dossier_sha256,
        issued_at=as_datetime(row.issued_at),
        valid_until=as_datetime(row.valid_until),
        kid=row.kid,
        pdf_sha256=row.pdf_sha256,
        sections=[SectionResult(*s) for s in msgspec.json.decode(row.outcomes)],
        history=await history(row),
    )


async def get_certificate(certificate_id: str) -> CertificateOut:
    """A certificate as anyone may read it."""
    return await certificate_out(await row_by_id(certificate_id))


async def pdf(certificate_id: str) -> tuple[bytes, str, str]:
    """The PDF stored at issuance (never re-rendered), its digest and the display ID."""
    row = await row_by_id(certificate_id)
    try:
        data = await blob_store().get(row.pdf_sha256)
    except KeyError as e:
        raise NotFound(f"the PDF of {row.certificate_id} is not in storage") from e
    return data, row.pdf_sha256, row.certificate_id


async def statement(certificate_id: str) -> str:
    """The certificate's compact JWS."""
    return (await row_by_id(certificate_id)).statement


async def change_status(actor: Actor, certificate_id: str, request: StatusChange) -> CertificateOut:
    """Suspend, reinstate or revoke, with a reason and note; terminal statuses refuse (409)."""
    async with write_transaction():
        row = await row_by_id(certificate_id)
        await certificate_status.change(
            row,
            StatusAction(request.action),
            reason=request.reason,
            note=request.note,
            actor=actor,
            at=clock.now(),
        )
        updated = await row_by_id(certificate_id)
    return await certificate_out(updated)


async def _may_read_report(principal: Principal, row: CertificateRecord) -> bool:
    return await access.may_read_report(principal, row.revision)


async def report(principal: Principal, certificate_id: str) -> tuple[bytes, str]:
    """The full assessment report PDF: criteria, rationale, evidence and timeline."""
    row = await row_by_id(certificate_id)
    if not await _may_read_report(principal, row):
        raise NotFound(f"no assessment report for {row.certificate_id} that you may read")
    view = await _report_view(row)
    return await anyio.to_thread.run_sync(render_assessment_report, view), row.certificate_id


class _SlotTimes(Record, frozen=True):
    id: uuid.UUID
    submitted_at: int | None


class _Label(Record, frozen=True):
    sha256: str
    label: str


async def _report_view(row: CertificateRecord) -> ReportView:
    revision = await fetch_one(Revision.select().where(Revision.id == row.revision), RevisionRecord)
    if revision is None or revision.frozen is None:
        raise NotFound("the certificate's revision is missing")
    frozen = decode_frozen(revision.frozen)
    outcome = (
        msgspec.json.decode(revision.decision).get("outcome", "approved")
        if revision.decision
        else "approved"
    )
    document, _ = await criteria.document_by_ref(row.criteria_set)
    sections = [SectionOutcome(*s) for s in msgspec.json.decode(row.outcomes)]
    slots = await fetch(
        ReviewSlot.select(ReviewSlot.id, ReviewSlot.submitted_at)
        .where(ReviewSlot.revision == row.revision)
        .order_by(ReviewSlot.submitted_at, ReviewSlot.natural_key),
        _SlotTimes,
    )
    # The same reviews, labels and comments the supplier's feedback shows (one source).
    said = await feedback.feedback_for(row.revision)
    comments: dict[str, list[tuple[str, str]]] = {}
    for review in said.reviews:
        for comment in review.comments:
            comments.setdefault(comment.code, []).append((review.label, comment.text))
    case = await fetch_one(
        ModerationCase.select().where(ModerationCase.revision == row.revision),
        ModerationCaseRecord,
    )
    final = (
        msgspec.json.decode(case.final_scores, type=dict[str, Judged])
        if case and case.final_scores
        else {}
    )
    first = (
        await fetch(ReviewScore.select().where(ReviewScore.slot == slots[0].id), ReviewScoreRecord)
        if slots
        else []
    )
    agreed_by_code = {
        s.criterion_code: Judged(s.gate_pass, s.score, s.not_applicable, s.rationale) for s in first
    }
    lines = []
    for section in document.sections:
        for criterion in section.criteria:
            agreed = final.get(criterion.code) or agreed_by_code.get(criterion.code)
            if agreed is None:
                continue
            lines.append(
                CriterionLine(
                    section=section.code,
                    code=criterion.code,
                    title=criterion.title,
                    mode=criterion.mode,
                    outcome=_outcome_words(criterion.mode, agreed, criterion.max_score),
                    score=agreed.score,
                    max_score=criterion.max_score,
                    rationale=comments.get(criterion.code, []),
                )
            )
    labels = {
        e.sha256: e.label
        for e in await fetch(
            Evidence.select(Evidence.sha256, Evidence.label).where(
                Evidence.revision == row.revision
            ),
            _Label,
        )
    }
    evidence = [
        EvidenceLine(
            name=labels.get(e.sha256, e.document_type),
            document_type=e.document_type,
            sha256=e.sha256,
            expires_on=_date(e.expires_on),
            verification="declared by the supplier",
            criteria=e.criteria,
        )
        for e in frozen.evidence
    ]
    timeline = []
    if revision.submitted_at is not None:
        timeline.append(
            TimelineEntry(revision.submitted_at, f"Revision {revision.number} submitted")
        )
    timeline += [
        TimelineEntry(s.submitted_at, "Independent review submitted")
        for s in slots
        if s.submitted_at
    ]
    if case and case.decided_at:
        timeline.append(TimelineEntry(case.decided_at, "Moderated by a lead reviewer"))
    timeline.append(TimelineEntry(row.issued_at, f"Certificate {row.certificate_id} issued"))
    return ReportView(
        product_name=row.product_name,
        product_version=row.product_version,
        supplier_name=row.supplier_name,
        intended_purpose=row.intended_purpose,
        esf_tier=row.esf_tier,
        device_class=row.device_class,
        criteria_set_ref=row.criteria_set,
        criteria_set_title=document.title,
        criteria_set_sha256=row.criteria_sha256,
        dossier_sha256=row.dossier_sha256,
        revision=revision.number,
        decision=str(outcome).replace("_", " ").capitalize(),
        generated_at=clock.now(),
        sections=sections,
        criteria=lines,
        evidence=evidence,
        timeline=timeline,
        reviews=[
            ReviewSummary(r.label, r.recommendation.replace("_", " ").capitalize(), r.summary)
            for r in said.reviews
        ],
        certificate_id=row.certificate_id,
    )


def _date(value: str | None) -> dt.date | None:
    return dt.date.fromisoformat(value) if value else None


def _outcome_words(mode: str, score: Judged, max_score: int | None) -> str:
    if score.not_applicable:
        return "Not applicable"
    if mode == "gate":
        return "Met" if score.gate_pass else "Not met"
    return f"{score.score} of {max_score}"
