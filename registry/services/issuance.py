"""Issuing a certificate for an approved revision (DESIGN §4, §8).

Slow work happens first and outside any transaction: the statement is signed, the PDF rendered
and PAdES-signed, and the PDF stored as a blob under its digest. Then one short transaction writes
the certificate, its first event, the product's earlier certificate becoming superseded, and the
audit events — or nothing at all. A blob whose transaction failed is referenced by nothing and is
swept later; downloads only ever serve a blob a certificate row names.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from typing import Any

import anyio
import msgspec

from registry import clock
from registry.db import read_transaction, write_transaction
from registry.domain import statement
from registry.domain.audit_chain import AuditTag
from registry.domain.canonical import canonical_json
from registry.domain.certificate import CertificateStatus, StatusAction, transition, valid_until
from registry.domain.certificate_id import new_certificate_id
from registry.domain.criteria import applicable_criteria
from registry.domain.dossier import EvidenceFact, RevisionStatus
from registry.errors import Conflict, InvalidInput, NotFound
from registry.services import answer_cache, audit, criteria, keys
from registry.services.audit import Actor
from registry.services.evidence import blob_store
from registry.settings import get_settings
from registry.signing import jws, pades
from registry.signing.validity import KeyRecord
from registry.tables import Certificate, CertificateEvent, Dossier, Organisation, Revision
from reports import CertificateView, SectionOutcome, render_certificate
from schemas.criteria import CriteriaSetDocument, ProductProfile

log = logging.getLogger("registry.issuance")

# Tighter caps tried in turn when the names would push the QR code above version 22: the full
# names are pinned by the dossier hash, so a shorter label on paper loses nothing.
NAME_CAPS = (statement.NAME_CAP, 48, 36, 24)


@dataclass(frozen=True, slots=True)
class Prepared:
    """Everything issuance computed before touching the database again."""

    row: dict[str, Any]
    pdf: bytes


def _section_outcomes(
    document: CriteriaSetDocument, decision: dict[str, Any], applicable: set[str]
) -> list[SectionOutcome]:
    percentages = decision.get("section_percentages", {})
    failed = set(decision.get("failed_gates", []))
    outcomes = []
    for section in document.sections:
        codes = [c.code for c in section.criteria if c.code in applicable]
        if not codes:
            continue
        gates = [c.code for c in section.criteria if c.code in applicable and c.mode == "gate"]
        outcomes.append(
            SectionOutcome(
                code=section.code,
                title=section.title,
                percent=percentages.get(section.code),
                threshold=section.threshold_percent,
                gates_passed=(not failed.intersection(gates)) if gates else None,
                outcome="Met",
            )
        )
    return outcomes


def _scope(profile: dict[str, Any]) -> tuple[list[str], list[str]]:
    population = ["Patients and the public"] if profile.get("patient_facing") else []
    population.append("Health and care staff")
    settings = ["Health and care settings in England"]
    if profile.get("integrates_with_clinical_systems"):
        settings.append("Connected to clinical record systems")
    return population, settings


async def _load(revision_id: uuid.UUID) -> dict[str, Any]:
    async with read_transaction():
        return await _load_rows(revision_id)


async def _load_rows(revision_id: uuid.UUID) -> dict[str, Any]:
    revision = await Revision.select().where(Revision.id == revision_id).first()
    if revision is None or revision["status"] != RevisionStatus.approved.value:
        raise Conflict("only an approved revision gets a certificate")
    dossier = await Dossier.select().where(Dossier.id == revision["dossier"]).first()
    if dossier is None:
        raise NotFound("the approved revision's dossier is missing")
    supplier = (
        await Organisation.select(Organisation.name)
        .where(Organisation.id == dossier["organisation"])
        .first()
    )
    return {
        "revision": revision,
        "dossier": dossier,
        "supplier": supplier["name"] if supplier else "",
    }


async def prepare(revision_id: uuid.UUID, key: KeyRecord, now: int) -> Prepared:
    """Sign, render, PAdES-sign and store the PDF; nothing is written to the database here."""
    loaded = await _load(revision_id)
    revision, dossier = loaded["revision"], loaded["dossier"]
    frozen = msgspec.json.decode(revision["frozen"])
    decision = msgspec.json.decode(revision["decision"] or "{}")
    ref = criteria.criteria_ref(frozen["criteria_set"]["key"], frozen["criteria_set"]["version"])
    document, criteria_sha256 = await criteria.document_by_ref(ref)
    profile = msgspec.convert(frozen["product"]["profile"], ProductProfile)
    applicable = applicable_criteria(document, profile)
    gate_codes = [c.code for c in applicable if c.mode == "gate"]
    evidence = [
        EvidenceFact(
            sha256=e["sha256"],
            document_type=e["document_type"],
            criteria=tuple(e["criteria"]),
            expires_on=e["expires_on"],
            issued_on=e.get("issued_on"),
        )
        for e in frozen["evidence"]
    ]
    validity_days = min(
        document.review_policy.default_validity_days, get_settings().certificate_validity_days
    )
    until, _ = valid_until(
        issued_at=now, validity_days=validity_days, evidence=evidence, gate_codes=gate_codes
    )
    certificate_id = new_certificate_id()
    product = frozen["product"]
    base = get_settings().base_url
    token = url = ""
    for cap in NAME_CAPS:
        claims = statement.build_claims(
            issuer=keys.ISSUER,
            certificate_id=certificate_id,
            product_name=statement.capped(product["name"], cap),
            product_version=frozen["product_version"],
            supplier_name=statement.capped(loaded["supplier"], cap),
            criteria_set_ref=ref,
            criteria_set_sha256_hex=criteria_sha256,
            dossier_sha256_hex=revision["digest"],
            issued_at=now,
            valid_until=until,
        )
        token = jws.sign_statement(keys.key_files(), key, claims, now=now)
        url = statement.verify_url(base, certificate_id, token)
        if statement.qr_version(url) <= statement.MAX_QR_VERSION:
            break
    statement.check_fits_qr(url)  # still too large with the tightest caps: fail loudly
    sections = _section_outcomes(document, decision, {c.code for c in applicable})
    population, settings_lines = _scope(product["profile"])
    view = CertificateView(
        certificate_id=certificate_id,
        product_name=product["name"],
        product_version=frozen["product_version"],
        supplier_name=loaded["supplier"],
        intended_purpose=product["intended_purpose"],
        population=population,
        settings=settings_lines,
        esf_tier=profile.esf_tier,
        device_class=profile.medical_device_class,
        criteria_set_ref=ref,
        criteria_set_title=document.title,
        sections=sections,
        issued_at=now,
        valid_until=until,
        verify_url=url,
        verify_base=f"{base}/v",
        statement_jws=token,
    )
    pdf = await anyio.to_thread.run_sync(_render_and_sign, view, key, now)
    digest = blob_store().put(pdf)
    row = {
        "id": uuid.uuid4(),
        "certificate_id": certificate_id,
        "revision": revision["id"],
        "dossier": dossier["id"],
        "product": dossier["product"],
        "organisation": dossier["organisation"],
        "product_name": product["name"],
        "product_version": frozen["product_version"],
        "supplier_name": loaded["supplier"],
        "intended_purpose": product["intended_purpose"],
        "esf_tier": profile.esf_tier,
        "device_class": profile.medical_device_class,
        "criteria_set": ref,
        "criteria_sha256": criteria_sha256,
        "dossier_sha256": revision["digest"],
        "outcomes": canonical_json([list(s) for s in sections]).decode(),
        "issued_at": now,
        "valid_until": until,
        "kid": key.kid,
        "statement": token,
        "pdf_sha256": digest,
        "status": CertificateStatus.valid.value,
        "search_text": " ".join(
            [product["name"], loaded["supplier"], product["intended_purpose"]]
        ).lower(),
    }
    return Prepared(row, pdf)


def _render_and_sign(view: CertificateView, key: KeyRecord, now: int) -> bytes:
    # Runs in a worker thread: rendering and signing are CPU-bound and must not stall the loop.
    pdf = render_certificate(view)
    return pades.sign_pdf(
        keys.key_files(),
        key,
        pdf,
        reason="Kitemark Registry certificate: good to go",
        location="England",
        now=now,
        # PAdES B-T when a timestamp authority is configured (REGISTRY_TSA_URL), else B-B.
        timestamper=pades.timestamper_for(get_settings().tsa_url),
    )


async def commit(prepared: Prepared, actor: Actor) -> str:
    """One short transaction: the certificate, its events, and the predecessor superseded."""
    row = prepared.row
    async with write_transaction():
        if await Certificate.exists().where(Certificate.revision == row["revision"]):
            raise Conflict("this revision already has a certificate")
        await Certificate.insert(Certificate(**row))
        certificate = (
            await Certificate.select(Certificate.id)
            .where(Certificate.certificate_id == row["certificate_id"])
            .first()
        )
        if certificate is None:  # just inserted in this transaction
            raise NotFound("the certificate vanished while being issued")
        await CertificateEvent.insert(
            CertificateEvent(
                certificate=certificate["id"],
                at=row["issued_at"],
                action="issued",
                status=CertificateStatus.valid.value,
                reason=None,
                note="Assessed and approved; certificate issued.",
                actor=actor.id,
            )
        )
        await audit.record(
            actor,
            AuditTag.certificate_issued,
            f"certificate:{row['certificate_id']}",
            {"revision": str(row["revision"]), "kid": row["kid"], "pdf_sha256": row["pdf_sha256"]},
        )
        await _supersede_earlier(row, actor)
    answer_cache.clear()  # a predecessor's answer changed (superseded)
    return str(row["certificate_id"])


async def _supersede_earlier(row: dict[str, Any], actor: Actor) -> None:
    earlier = await Certificate.select(
        Certificate.id, Certificate.certificate_id, Certificate.status
    ).where(
        (Certificate.product == row["product"])
        & (Certificate.certificate_id != row["certificate_id"])
        & Certificate.status.is_in(
            [CertificateStatus.valid.value, CertificateStatus.suspended.value]
        )
    )
    for old in earlier:
        status = transition(CertificateStatus(old["status"]), StatusAction.supersede)
        await Certificate.update(
            {
                Certificate.status: status.value,
                Certificate.status_reason: "reassessed",
                Certificate.status_note: f"Superseded by {row['certificate_id']}.",
                Certificate.status_changed_at: row["issued_at"],
                Certificate.superseded_by: row["certificate_id"],
            }
        ).where(Certificate.id == old["id"])
        await CertificateEvent.insert(
            CertificateEvent(
                certificate=old["id"],
                at=row["issued_at"],
                action="superseded",
                status=status.value,
                reason="reassessed",
                note=f"A newer assessment replaced this certificate: {row['certificate_id']}.",
                actor=actor.id,
            )
        )
        await audit.record(
            actor,
            AuditTag.certificate_superseded,
            f"certificate:{old['certificate_id']}",
            {"successor": row["certificate_id"]},
        )


async def issue_for(revision_id: uuid.UUID, actor: Actor = audit.SYSTEM) -> str:
    """Issue the certificate of an approved revision (idempotent: an existing one is returned)."""
    existing = (
        await Certificate.select(Certificate.certificate_id)
        .where(Certificate.revision == revision_id)
        .first()
    )
    if existing is not None:
        return str(existing["certificate_id"])
    now = clock.now()
    key = await keys.active_key()
    prepared = await prepare(revision_id, key, now)
    return await commit(prepared, actor)


async def issue_pending(actor: Actor = audit.SYSTEM) -> list[str]:
    """Issue certificates for approved revisions that have none (after a failed issuance)."""
    rows = await Revision.select(Revision.id).where(
        (Revision.status == RevisionStatus.approved.value)
        & Revision.id.not_in(Certificate.select(Certificate.revision))
    )
    issued = []
    for row in rows:
        try:
            issued.append(await issue_for(row["id"], actor))
        except (Conflict, InvalidInput, NotFound):
            log.exception("certificate issuance failed for revision %s", row["id"])
    return issued
