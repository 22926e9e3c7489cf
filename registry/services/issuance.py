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
from registry.blobs import blob_store
from registry.db import is_postgres, read_transaction, write_transaction
from registry.domain import statement
from registry.domain.audit_chain import AuditTag
from registry.domain.canonical import canonical_json
from registry.domain.certificate import CertificateStatus, Reason, StatusAction, valid_until
from registry.domain.certificate_id import new_certificate_id
from registry.domain.criteria import applicable_criteria
from registry.domain.criteria_document import CriteriaSetDocument, ProductProfile
from registry.domain.dossier import FrozenRevision, RevisionStatus, decode_frozen
from registry.domain.issuance import (
    IssuanceFacts,
    IssuanceState,
    claimable,
    retry_delay,
    still_held,
)
from registry.errors import CannotCertify, Conflict, NotFound, RegistryError, Unavailable
from registry.records import (
    CertificateRecord,
    DossierRecord,
    IssuanceRecord,
    Record,
    RevisionRecord,
    fetch,
    fetch_one,
)
from registry.services import audit, certificate_status, criteria, dossiers, keys, progress
from registry.services.audit import Actor
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
from schemas.issuance import IssuanceItem, IssuanceList
from schemas.review import DecisionOut

log = logging.getLogger("registry.issuance")

# Tighter caps tried in turn when the names would push the QR code above version 22: the full
# names are pinned by the dossier hash, so a shorter label on paper loses nothing.
NAME_CAPS = (statement.NAME_CAP, 48, 36, 24)


@dataclass(frozen=True, slots=True)
class Prepared:
    """Everything issuance computed before touching the database again."""

    certificate: CertificateRecord
    pdf: bytes


@dataclass(frozen=True, slots=True)
class _Approved:
    """An approved revision with what its certificate names: frozen content and supplier."""

    revision: RevisionRecord
    frozen: FrozenRevision
    dossier: DossierRecord
    supplier: str


class _Name(Record, frozen=True):
    name: str


def _section_outcomes(
    document: CriteriaSetDocument, decision: DecisionOut | None, applicable: set[str]
) -> list[SectionOutcome]:
    percentages = decision.section_percentages if decision else {}
    failed = set(decision.failed_gates if decision else [])
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


def _scope(profile: ProductProfile) -> tuple[list[str], list[str]]:
    population = ["Patients and the public"] if profile.patient_facing else []
    population.append("Health and care staff")
    settings = ["Health and care settings in England"]
    if profile.integrates_with_clinical_systems:
        settings.append("Connected to clinical record systems")
    return population, settings


async def _load(revision_id: uuid.UUID) -> _Approved:
    async with read_transaction():
        revision = await fetch_one(
            Revision.select().where(Revision.id == revision_id), RevisionRecord
        )
        if (
            revision is None
            or revision.status is not RevisionStatus.approved
            or revision.frozen is None
            or revision.digest is None
        ):
            raise Conflict("only an approved revision gets a certificate")
        dossier = await fetch_one(
            Dossier.select().where(Dossier.id == revision.dossier), DossierRecord
        )
        if dossier is None:
            raise NotFound("the approved revision's dossier is missing")
        supplier = await fetch_one(
            Organisation.select(Organisation.name).where(Organisation.id == dossier.organisation),
            _Name,
        )
    return _Approved(
        revision, decode_frozen(revision.frozen), dossier, supplier.name if supplier else ""
    )


async def prepare(revision_id: uuid.UUID, key: KeyRecord, now: int) -> Prepared:
    """Sign, render, PAdES-sign and store the PDF; nothing is written to the database here."""
    approved = await _load(revision_id)
    revision, frozen, dossier = approved.revision, approved.frozen, approved.dossier
    decision = msgspec.json.decode(revision.decision or "null", type=DecisionOut | None)
    ref = frozen.criteria_set.ref
    document, criteria_sha256 = await criteria.document_by_ref(ref)
    profile = frozen.product.profile
    applicable = applicable_criteria(document, profile)
    gate_codes = [c.code for c in applicable if c.mode == "gate"]
    validity_days = min(
        document.review_policy.default_validity_days, get_settings().certificate_validity_days
    )
    until, _ = valid_until(
        issued_at=now,
        validity_days=validity_days,
        evidence=[e.fact() for e in frozen.evidence],
        gate_codes=gate_codes,
    )
    certificate_id = new_certificate_id()
    product = frozen.product
    digest_of_revision = revision.digest or ""  # _load refuses a revision without one
    base = get_settings().base_url
    token = url = ""
    for cap in NAME_CAPS:
        claims = statement.build_claims(
            issuer=keys.ISSUER,
            certificate_id=certificate_id,
            product_name=statement.capped(product.name, cap),
            product_version=frozen.product_version,
            supplier_name=statement.capped(approved.supplier, cap),
            criteria_set_ref=ref,
            criteria_set_sha256_hex=criteria_sha256,
            dossier_sha256_hex=digest_of_revision,
            issued_at=now,
            valid_until=until,
        )
        token = jws.sign_statement(keys.key_files(), key, claims, now=now)
        url = statement.verify_url(base, certificate_id, token)
        if statement.qr_version(url) <= statement.MAX_QR_VERSION:
            break
    statement.check_fits_qr(url)  # still too large with the tightest caps: fail loudly
    sections = _section_outcomes(document, decision, {c.code for c in applicable})
    population, settings_lines = _scope(profile)
    view = CertificateView(
        certificate_id=certificate_id,
        product_name=product.name,
        product_version=frozen.product_version,
        supplier_name=approved.supplier,
        intended_purpose=product.intended_purpose,
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
    digest = await blob_store().put(pdf)
    certificate = CertificateRecord(
        id=uuid.uuid4(),
        certificate_id=certificate_id,
        revision=revision.id,
        dossier=dossier.id,
        product=dossier.product,
        organisation=dossier.organisation,
        product_name=product.name,
        product_version=frozen.product_version,
        supplier_name=approved.supplier,
        intended_purpose=product.intended_purpose,
        esf_tier=profile.esf_tier,
        device_class=profile.medical_device_class,
        criteria_set=ref,
        criteria_sha256=criteria_sha256,
        dossier_sha256=digest_of_revision,
        outcomes=canonical_json([list(s) for s in sections]).decode(),
        issued_at=now,
        valid_until=until,
        kid=key.kid,
        statement=token,
        pdf_sha256=digest,
        status=CertificateStatus.valid,
        status_reason=None,
        status_note=None,
        status_changed_at=None,
        superseded_by=None,
        search_text=" ".join([product.name, approved.supplier, product.intended_purpose]).lower(),
    )
    return Prepared(certificate, pdf)


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


def _facts(row: IssuanceRecord) -> IssuanceFacts:
    return IssuanceFacts(
        state=row.state,
        attempts=row.attempts,
        next_attempt_at=row.next_attempt_at,
        lease_until=row.lease_until,
    )


def _attempt_of(row: IssuanceRecord) -> Attempt:
    return Attempt(
        revision_id=row.revision,
        state=row.state,
        certificate_id=row.certificate_id,
        reason=row.reason,
        next_attempt_at=row.next_attempt_at,
    )


async def _locked(revision_id: uuid.UUID) -> IssuanceRecord | None:
    # On PostgreSQL the row lock makes a second issuer wait, then see the first one's claim;
    # on SQLite the IMMEDIATE write transaction already excludes every other writer.
    query = Issuance.select().where(Issuance.revision == revision_id)
    if is_postgres():
        query = query.lock_rows("UPDATE")
    return await fetch_one(query, IssuanceRecord)


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
        attempt_number = row.attempts + 1
        await Issuance.update(
            {
                Issuance.state: IssuanceState.issuing.value,
                Issuance.attempts: attempt_number,
                Issuance.lease_until: now + get_settings().issuance_lease_seconds,
                Issuance.updated_at: now,
            }
        ).where(Issuance.revision == row.revision)
    return Claim(revision_id, attempt_number)


async def current(revision_id: uuid.UUID) -> Attempt | None:
    """Where the issuance of ``revision_id`` stands now (None: the revision has none)."""
    row = await fetch_one(Issuance.select().where(Issuance.revision == revision_id), IssuanceRecord)
    return _attempt_of(row) if row else None


async def commit(prepared: Prepared, claim: Claim, actor: Actor) -> str:
    """One short transaction: the certificate, its events, the predecessor superseded, and the
    issuance marked issued — only while ``claim`` still stands."""
    certificate = prepared.certificate
    async with write_transaction():
        issuance = await _locked(claim.revision_id)
        if issuance is None or not still_held(_facts(issuance), claim.attempt):
            raise ClaimLost(f"attempt {claim.attempt} no longer holds this issuance")
        if await Certificate.exists().where(Certificate.revision == certificate.revision):
            raise ClaimLost("this revision already has a certificate")
        await Certificate.insert(Certificate(**msgspec.structs.asdict(certificate)))
        await CertificateEvent.insert(
            CertificateEvent(
                certificate=certificate.id,
                at=certificate.issued_at,
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
            f"certificate:{certificate.certificate_id}",
            {
                "revision": str(certificate.revision),
                "kid": certificate.kid,
                "pdf_sha256": certificate.pdf_sha256,
            },
        )
        await _supersede_earlier(certificate, actor)
        await Issuance.update(
            {
                Issuance.state: IssuanceState.issued.value,
                Issuance.certificate_id: certificate.certificate_id,
                Issuance.reason: None,
                Issuance.next_attempt_at: None,
                Issuance.lease_until: None,
                Issuance.updated_at: clock.now(),
            }
        ).where(Issuance.revision == issuance.revision)
    return certificate.certificate_id


async def _supersede_earlier(successor: CertificateRecord, actor: Actor) -> None:
    """A newer approved assessment of the same product supersedes its live certificates."""
    earlier = await fetch(
        Certificate.select().where(
            (Certificate.product == successor.product)
            & (Certificate.certificate_id != successor.certificate_id)
            & Certificate.status.is_in(
                [CertificateStatus.valid.value, CertificateStatus.suspended.value]
            )
        ),
        CertificateRecord,
    )
    for old in earlier:
        await certificate_status.change(
            old,
            StatusAction.supersede,
            reason=Reason.reassessed,
            note=f"Superseded by {successor.certificate_id}.",
            event_note=(
                f"A newer assessment replaced this certificate: {successor.certificate_id}."
            ),
            successor=successor.certificate_id,
            actor=actor,
            at=successor.issued_at,
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
        ).where(Issuance.revision == row.revision)
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
    rows = await fetch(
        Issuance.select(Issuance.revision)
        .where((pending if ignore_backoff else due) | abandoned)
        .order_by(Issuance.updated_at),
        _RevisionOf,
    )
    results = []
    for row in rows:
        claimed = await claim(row.revision, ignore_backoff=ignore_backoff)
        if claimed is not None:
            results.append(await attempt(claimed))
    return results


class _RevisionOf(Record, frozen=True):
    revision: uuid.UUID


class _Listed(IssuanceRecord, frozen=True):
    number: int
    product: str | None
    supplier: str | None


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
    fetched = await fetch(query.limit(limit + 1), _Listed)
    rows, more = fetched[:limit], len(fetched) > limit
    items = [
        IssuanceItem(
            dossier_id=str(row.dossier),
            revision=row.number,
            product=row.product or "",
            supplier=row.supplier or "",
            issuance=progress.issuance_out(row),
        )
        for row in rows
    ]
    last = rows[-1] if more else None
    return IssuanceList(
        items=items,
        next_cursor=encode_time_id_cursor(last.updated_at, str(last.revision)) if last else None,
    )
