"""Issuing the certificate of an approved revision (DESIGN §2, §4, §8).

One issuer at a time: the approval's own transaction opens the issuance already claimed by the
approving request; the periodic issuer (and ``registry certificates issue-pending``) claims only
issuances that are pending and due, or whose issuer died (lease run out). An issuer commits only
while its claim stands (``registry.domain.issuance``).

Slow work happens first and outside any transaction: the statement is signed, the PDF rendered
and PAdES-signed, and the PDF stored as a blob under its digest. Then one short transaction writes
the certificate, its first event, the product's earlier certificate becoming superseded, the
issuance marked issued, and the audit events — or nothing at all. A blob whose transaction failed
is referenced by nothing and is swept later; downloads only ever serve a blob a certificate names.

A failure retrying may fix (no signing key, storage) is retried with backoff; one that it cannot
(gate evidence lapsed before issuance) ends the issuance and returns the revision to its supplier
as changes requested, saying what to renew. Every state is visible with its reason.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from typing import Any

import anyio
import msgspec

from registry import clock
from registry.db import is_postgres, read_transaction, write_transaction
from registry.domain import statement
from registry.domain.audit_chain import AuditTag
from registry.domain.canonical import canonical_json
from registry.domain.certificate import CertificateStatus, StatusAction, transition, valid_until
from registry.domain.certificate_id import new_certificate_id
from registry.domain.criteria import applicable_criteria
from registry.domain.dossier import EvidenceFact, RevisionStatus
from registry.domain.issuance import (
    IssuanceFacts,
    IssuanceState,
    claimable,
    retry_delay,
    still_held,
)
from registry.errors import CannotCertify, Conflict, NotFound, RegistryError, Unavailable
from registry.services import answer_cache, audit, criteria, dossiers, keys, progress
from registry.services.audit import Actor
from registry.services.evidence import blob_store
from registry.services.paging import decode_time_id_cursor, encode_time_id_cursor
from registry.settings import get_settings
from registry.signing import jws, pades
from registry.signing.validity import KeyRecord
from registry.tables import (
    Certificate,
    CertificateEvent,
    Dossier,
    Issuance,
    Organisation,
    Revision,
)
from reports import CertificateView, SectionOutcome, render_certificate
from schemas.criteria import CriteriaSetDocument, ProductProfile
from schemas.issuance import IssuanceItem, IssuanceList

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


class ClaimLost(Conflict):
    """This issuer no longer holds the claim it worked under: another issuer took over."""


@dataclass(frozen=True, slots=True)
class Claim:
    """An issuer's claim on one revision's issuance: the numbered attempt it may commit under."""

    revision_id: uuid.UUID
    attempt: int


@dataclass(frozen=True, slots=True)
class Attempt:
    """Where an issuance stands after an attempt (or after finding another issuer at work)."""

    revision_id: uuid.UUID
    state: IssuanceState
    certificate_id: str | None
    reason: str | None
    next_attempt_at: int | None


def _facts(row: dict[str, Any]) -> IssuanceFacts:
    return IssuanceFacts(
        state=IssuanceState(row["state"]),
        attempts=row["attempts"],
        next_attempt_at=row["next_attempt_at"],
        lease_until=row["lease_until"],
    )


def _attempt_of(row: dict[str, Any]) -> Attempt:
    return Attempt(
        revision_id=row["revision"],
        state=IssuanceState(row["state"]),
        certificate_id=row["certificate_id"],
        reason=row["reason"],
        next_attempt_at=row["next_attempt_at"],
    )


async def _locked(revision_id: uuid.UUID) -> dict[str, Any] | None:
    # On PostgreSQL the row lock makes a second issuer wait, then see the first one's claim;
    # on SQLite the IMMEDIATE write transaction already excludes every other writer.
    query = Issuance.select().where(Issuance.revision == revision_id)
    if is_postgres():
        query = query.lock_rows("UPDATE")
    row: dict[str, Any] | None = await query.first()
    return row


async def open_issuance(revision_id: uuid.UUID, dossier_id: uuid.UUID, now: int) -> Claim:
    """In the approval's own transaction: the issuance, claimed at once by the approving request.

    The periodic issuer leaves it alone until the claim's lease runs out, so the request that
    approved is the only issuer unless it dies.
    """
    await Issuance.insert(
        Issuance(
            revision=revision_id,
            dossier=dossier_id,
            state=IssuanceState.issuing.value,
            attempts=1,
            lease_until=now + get_settings().issuance_lease_seconds,
            created_at=now,
            updated_at=now,
        )
    )
    return Claim(revision_id, 1)


async def claim(revision_id: uuid.UUID, *, ignore_backoff: bool = False) -> Claim | None:
    """Claim the issuance of ``revision_id`` if no other issuer holds it and it is due."""
    async with write_transaction():
        row = await _locked(revision_id)
        now = clock.now()
        if row is None or not claimable(_facts(row), now, ignore_backoff=ignore_backoff):
            return None
        attempt_number = row["attempts"] + 1
        await Issuance.update(
            {
                Issuance.state: IssuanceState.issuing.value,
                Issuance.attempts: attempt_number,
                Issuance.lease_until: now + get_settings().issuance_lease_seconds,
                Issuance.updated_at: now,
            }
        ).where(Issuance.revision == row["revision"])
    return Claim(revision_id, attempt_number)


async def current(revision_id: uuid.UUID) -> Attempt | None:
    """Where the issuance of ``revision_id`` stands now (None: the revision has none)."""
    row = await Issuance.select().where(Issuance.revision == revision_id).first()
    return _attempt_of(row) if row else None


async def commit(prepared: Prepared, claim: Claim, actor: Actor) -> str:
    """One short transaction: the certificate, its events, the predecessor superseded, and the
    issuance marked issued — only while ``claim`` still stands."""
    row = prepared.row
    async with write_transaction():
        issuance = await _locked(claim.revision_id)
        if issuance is None or not still_held(_facts(issuance), claim.attempt):
            raise ClaimLost(f"attempt {claim.attempt} no longer holds this issuance")
        if await Certificate.exists().where(Certificate.revision == row["revision"]):
            raise ClaimLost("this revision already has a certificate")
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
        await Issuance.update(
            {
                Issuance.state: IssuanceState.issued.value,
                Issuance.certificate_id: row["certificate_id"],
                Issuance.reason: None,
                Issuance.next_attempt_at: None,
                Issuance.lease_until: None,
                Issuance.updated_at: clock.now(),
            }
        ).where(Issuance.revision == issuance["revision"])
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


async def attempt(claim: Claim, actor: Actor = audit.SYSTEM) -> Attempt:
    """Issue under ``claim``: a certificate, a retry scheduled, or a failure that never loops.

    Expected failures are one log line each (revision, reason), never a traceback.
    """
    revision = claim.revision_id
    try:
        key = await keys.active_key()
        prepared = await prepare(revision, key, clock.now())
        certificate_id = await commit(prepared, claim, actor)
    except ClaimLost as e:
        log.info("issuance of revision %s left to another issuer: %s", revision, e.detail)
    except CannotCertify as e:
        # Retrying cannot fix this: the supplier must, so the revision goes back to them.
        await _fail(claim, e.detail, send_back=True)
        log.warning("no certificate for revision %s; sent back to its supplier: %s", revision, e)
    except Unavailable as e:
        await _defer(claim, e.detail)
    except OSError as e:
        await _defer(claim, f"storing the certificate failed ({e.strerror or type(e).__name__})")
    except RegistryError as e:
        # Deterministic and not the supplier's to fix: visible to admins, never retried.
        await _fail(claim, e.detail, send_back=False)
        log.warning("no certificate for revision %s: %s", revision, e.detail)
    except Exception:
        log.exception("issuance of revision %s failed unexpectedly; will retry", revision)
        await _defer(claim, "an unexpected error (the registry's log has the details)")
    else:
        log.info("revision %s certified as %s", revision, certificate_id)
    state = await current(revision)
    if state is None:  # the row was made before any attempt and is never deleted
        raise NotFound(f"revision {revision} has no issuance")
    return state


async def _defer(claim: Claim, reason: str) -> None:
    """A failure that retrying may fix: pending again, with its reason and the next try."""
    settings = get_settings()
    delay = retry_delay(
        claim.attempt,
        base_seconds=settings.issuance_retry_base_seconds,
        max_seconds=settings.issuance_retry_max_seconds,
    )
    next_attempt_at = clock.now() + delay
    if await _end_attempt(
        claim,
        IssuanceState.pending,
        reason,
        next_attempt_at=next_attempt_at,
        tag=AuditTag.issuance_deferred,
        details={"next_attempt_at": next_attempt_at},
    ):
        log.warning(
            "issuance of revision %s failed (attempt %d), retrying in %d s: %s",
            claim.revision_id,
            claim.attempt,
            delay,
            reason,
        )


async def _fail(claim: Claim, reason: str, *, send_back: bool) -> None:
    """A failure that retrying cannot fix: failed for good and, when the supplier can fix it,
    the revision returned to them for changes (in the same transaction)."""
    await _end_attempt(
        claim,
        IssuanceState.failed,
        reason,
        next_attempt_at=None,
        tag=AuditTag.issuance_failed,
        details={"sent_back": send_back},
        send_back=send_back,
    )


async def _end_attempt(
    claim: Claim,
    state: IssuanceState,
    reason: str,
    *,
    next_attempt_at: int | None,
    tag: AuditTag,
    details: dict[str, Any],
    send_back: bool = False,
) -> bool:
    """Record how a failed attempt ended, with its audit event, while the claim still stands;
    False when another issuer has taken over (nothing is written then)."""
    async with write_transaction():
        row = await _locked(claim.revision_id)
        if row is None or not still_held(_facts(row), claim.attempt):
            return False
        await Issuance.update(
            {
                Issuance.state: state.value,
                Issuance.reason: reason,
                Issuance.next_attempt_at: next_attempt_at,
                Issuance.lease_until: None,
                Issuance.updated_at: clock.now(),
            }
        ).where(Issuance.revision == row["revision"])
        await audit.record(
            audit.SYSTEM,
            tag,
            f"revision:{claim.revision_id}",
            {"attempt": claim.attempt, "reason": reason, **details},
        )
        if send_back:
            await dossiers.return_for_changes(claim.revision_id, reason, audit.SYSTEM)
    return True


async def issue_for(revision_id: uuid.UUID, actor: Actor = audit.SYSTEM) -> Attempt | None:
    """Claim and attempt one revision's issuance now; None when another issuer holds it."""
    claimed = await claim(revision_id, ignore_backoff=True)
    if claimed is None:
        return None
    return await attempt(claimed, actor)


async def issue_pending(*, ignore_backoff: bool = False) -> list[Attempt]:
    """Attempt every issuance that is due (or, for an operator, every pending one) once.

    Pending issuances whose next try is due, and claims whose issuer died (lease run out), are
    claimed one by one; an issuance another issuer holds is skipped.
    """
    now = clock.now()
    pending = Issuance.state == IssuanceState.pending.value
    due = pending & (Issuance.next_attempt_at.is_null() | (Issuance.next_attempt_at <= now))
    abandoned = (Issuance.state == IssuanceState.issuing.value) & (
        Issuance.lease_until.is_null() | (Issuance.lease_until <= now)
    )
    rows = (
        await Issuance.select(Issuance.revision)
        .where((pending if ignore_backoff else due) | abandoned)
        .order_by(Issuance.updated_at)
    )
    results = []
    for row in rows:
        claimed = await claim(row["revision"], ignore_backoff=ignore_backoff)
        if claimed is not None:
            results.append(await attempt(claimed))
    return results


async def list_issuances(state: str | None, cursor: str | None, limit: int) -> IssuanceList:
    """Issuances for administrators, oldest change first; ``state`` narrows to one state."""
    query = Issuance.select(
        *Issuance.all_columns(),
        Issuance.revision._.number.as_alias("number"),
        Issuance.dossier._.product._.name.as_alias("product"),
        Issuance.dossier._.organisation._.name.as_alias("supplier"),
    ).order_by(Issuance.updated_at, Issuance.revision)
    if state:
        query = query.where(Issuance.state == state)
    if cursor:
        t, key = decode_time_id_cursor(cursor)
        query = query.where(
            (Issuance.updated_at > t) | ((Issuance.updated_at == t) & (Issuance.revision > key))
        )
    fetched = await query.limit(limit + 1)
    rows, more = fetched[:limit], len(fetched) > limit
    items = [
        IssuanceItem(
            dossier_id=str(row["dossier"]),
            revision=row["number"],
            product=row["product"] or "",
            supplier=row["supplier"] or "",
            issuance=progress.issuance_out(row),
        )
        for row in rows
    ]
    last = rows[-1] if rows else None
    return IssuanceList(
        items=items,
        next_cursor=(
            encode_time_id_cursor(last["updated_at"], str(last["revision"]))
            if more and last
            else None
        ),
    )
