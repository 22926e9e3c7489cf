"""Dossiers and their revisions: create, answer, check completeness, submit, withdraw, diff.

Every change to a draft bumps the dossier's ``row_version`` (its ETag), so a PATCH made against
a stale copy is refused. A submitted revision is frozen: its canonical content and digest are
stored, and nothing in it changes again.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

import msgspec

from registry import clock
from registry.db import read_transaction, write_transaction
from registry.domain import dossier as rules
from registry.domain.audit_chain import AuditTag
from registry.domain.canonical import canonical_digest, canonical_json
from registry.domain.criteria import applicable_criteria, applies, find_criterion, validate_answer
from registry.domain.criteria_document import CriteriaSetDocument, Criterion, ProductProfile
from registry.domain.dates import as_date, as_datetime, calendar_date
from registry.domain.dossier import EvidenceFact, RevisionAction, RevisionStatus
from registry.domain.identity import Principal
from registry.errors import (
    Conflict,
    InvalidInput,
    NotFound,
    PreconditionFailed,
    PreconditionRequired,
)
from registry.records import (
    AnswerRecord,
    DossierRecord,
    EvidenceRecord,
    ProductRecord,
    Record,
    RevisionRecord,
    fetch,
    fetch_one,
)
from registry.services import access, audit, criteria, progress, queue
from registry.services.audit import Actor
from registry.services.paging import decode_time_id_cursor, encode_time_id_cursor
from registry.services.products import product_row, supplier_organisation
from registry.settings import get_settings
from registry.tables import Answer, Dossier, Evidence, Product, Revision
from schemas.dossier import (
    AnswerChangeOut,
    AnswerOut,
    AnswerPut,
    CompletenessOut,
    CriteriaSetRef,
    DossierCreate,
    DossierOut,
    DossierPage,
    DossierSummary,
    DossierUpdate,
    EvidenceChangeOut,
    EvidenceOut,
    GapOut,
    RevisionDiff,
    RevisionList,
    RevisionOut,
)
from schemas.review import DecisionOut


@dataclass(frozen=True, slots=True)
class Loaded:
    """A dossier row with its current revision row, product row and criteria set."""

    dossier: DossierRecord
    revision: RevisionRecord
    product: ProductRecord
    document: CriteriaSetDocument
    criteria_sha256: str

    @property
    def profile(self) -> ProductProfile:
        """The product profile the criteria's ``applies_if`` conditions read."""
        return msgspec.json.decode(self.product.profile, type=ProductProfile)

    @property
    def etag(self) -> str:
        """The dossier's strong ETag: its id and row version."""
        return etag_of(self.dossier)


class _RevisionNumber(Record, frozen=True):
    id: uuid.UUID
    number: int


class _RevisionStatus(Record, frozen=True):
    natural_key: str
    status: RevisionStatus


def etag_of(dossier: DossierRecord) -> str:
    """A strong ETag for a dossier row."""
    return f'"{dossier.id}.{dossier.row_version}"'


def _dossier_key(dossier_id: str) -> uuid.UUID:
    try:
        return uuid.UUID(dossier_id)
    except ValueError as e:
        raise NotFound(f"no dossier {dossier_id!r}") from e


async def _load(dossier_id: str) -> Loaded | None:
    async with read_transaction():
        return await _load_rows(dossier_id)


async def _load_rows(dossier_id: str) -> Loaded | None:
    row = await fetch_one(
        Dossier.select().where(Dossier.id == _dossier_key(dossier_id)), DossierRecord
    )
    if row is None:
        return None
    revision = await fetch_one(
        Revision.select().where(Revision.natural_key == f"{row.id}:{row.current_revision}"),
        RevisionRecord,
    )
    product = await fetch_one(Product.select().where(Product.id == row.product), ProductRecord)
    document, sha256 = await criteria.document_by_ref(row.criteria_set)
    if revision is None or product is None:  # foreign keys make this unreachable
        raise NotFound(f"dossier {dossier_id!r} is incomplete in storage")
    return Loaded(row, revision, product, document, sha256)


async def load_current(dossier_id: uuid.UUID) -> Loaded:
    """The dossier with its current revision, for services acting on the reviewers' behalf."""
    loaded = await _load(str(dossier_id))
    if loaded is None:
        raise NotFound(f"no dossier {dossier_id}")
    return loaded


async def load_for_read(principal: Principal, dossier_id: str) -> Loaded:
    """A dossier the caller may read: own organisation's, or (admin) one ever submitted."""
    loaded = await _load(dossier_id)
    if loaded is None or not await _may_read(principal, loaded):
        raise NotFound(f"no dossier {dossier_id!r}")
    return loaded


async def _may_read(principal: Principal, loaded: Loaded) -> bool:
    return await access.may_read_revision(principal, loaded.revision, loaded.dossier.organisation)


async def load_for_write(principal: Principal, dossier_id: str) -> Loaded:
    """A dossier of the caller's own supplier organisation whose current revision is a draft."""
    organisation = supplier_organisation(principal)
    loaded = await _load(dossier_id)
    if loaded is None or loaded.dossier.organisation != organisation:
        raise NotFound(f"no dossier {dossier_id!r}")
    rules.transition(RevisionStatus(loaded.revision.status), RevisionAction.edit)
    return loaded


async def bump_row_version(loaded: Loaded) -> None:
    """Record that the dossier changed: a new ETag, a new updated_at."""
    await Dossier.update(
        {Dossier.row_version: Dossier.row_version + 1, Dossier.updated_at: clock.now()}
    ).where(Dossier.id == loaded.dossier.id)


def _answer_out(row: AnswerRecord) -> AnswerOut:
    return AnswerOut(
        code=row.criterion_code,
        value=msgspec.json.decode(row.value),
        updated_at=as_datetime(row.updated_at),
    )


def evidence_out(row: EvidenceRecord, revision: int) -> EvidenceOut:
    """An evidence row as the API shows it."""
    return EvidenceOut(
        id=str(row.id),
        revision=revision,
        document_type=row.document_type,
        criteria=msgspec.json.decode(row.criteria),
        label=row.label,
        media_type=row.media_type,
        size=row.size,
        sha256=row.sha256,
        expires_on=calendar_date(row.expires_on),
        issued_on=calendar_date(row.issued_on),
        uploaded_at=as_datetime(row.uploaded_at),
    )


async def _answers(revision_id: uuid.UUID) -> list[AnswerRecord]:
    return await fetch(
        Answer.select().where(Answer.revision == revision_id).order_by(Answer.criterion_code),
        AnswerRecord,
    )


async def evidence_rows(revision_id: uuid.UUID) -> list[EvidenceRecord]:
    """A revision's evidence rows, oldest first."""
    return await fetch(
        Evidence.select()
        .where(Evidence.revision == revision_id)
        .order_by(Evidence.uploaded_at, Evidence.id),
        EvidenceRecord,
    )


def _fact(row: EvidenceRecord) -> EvidenceFact:
    return EvidenceFact(
        sha256=row.sha256,
        document_type=row.document_type,
        criteria=tuple(msgspec.json.decode(row.criteria)),
        expires_on=row.expires_on,
        issued_on=row.issued_on,
        label=row.label,  # names the file in completeness gaps; never frozen
    )


async def _dossier_out(loaded: Loaded) -> DossierOut:
    number = loaded.revision.number
    return DossierOut(
        id=str(loaded.dossier.id),
        organisation_id=str(loaded.dossier.organisation),
        product_id=str(loaded.product.id),
        product_name=loaded.product.name,
        product_version=loaded.dossier.product_version,
        summary=loaded.dossier.summary,
        criteria_set=CriteriaSetRef(
            key=loaded.document.key, version=loaded.document.version, sha256=loaded.criteria_sha256
        ),
        revision=number,
        status=RevisionStatus(loaded.revision.status),
        answers=[_answer_out(row) for row in await _answers(loaded.revision.id)],
        evidence=[evidence_out(row, number) for row in await evidence_rows(loaded.revision.id)],
        etag=loaded.etag,
        created_at=as_datetime(loaded.dossier.created_at),
        updated_at=as_datetime(loaded.dossier.updated_at),
    )


async def create_dossier(principal: Principal, request: DossierCreate) -> DossierOut:
    """Start a dossier for one of the caller's products, against a published criteria set."""
    organisation = supplier_organisation(principal)
    product = await product_row(principal, request.product_id)
    ref = criteria.criteria_ref(request.criteria_set_key, request.criteria_set_version)
    try:
        await criteria.document_by_ref(ref)
    except NotFound as e:
        raise InvalidInput(f"no published criteria set {ref}", field="criteria_set_key") from e
    now = clock.now()
    dossier_id = uuid.uuid4()
    async with write_transaction():
        await Dossier.insert(
            Dossier(
                id=dossier_id,
                organisation=organisation,
                product=product.id,
                product_version=request.product_version,
                summary=request.summary,
                criteria_set=ref,
                current_revision=1,
                row_version=1,
                created_at=now,
                updated_at=now,
            )
        )
        await _insert_revision(dossier_id, 1, now)
        await audit.record(
            Actor(principal.user_id),
            AuditTag.dossier_created,
            f"dossier:{dossier_id}",
            {
                "product": str(product.id),
                "version": request.product_version,
                "criteria_set": ref,
            },
        )
    return await get_dossier(principal, str(dossier_id))


async def _insert_revision(dossier_id: uuid.UUID, number: int, now: int) -> uuid.UUID:
    revision_id = uuid.uuid4()
    await Revision.insert(
        Revision(
            id=revision_id,
            natural_key=f"{dossier_id}:{number}",
            dossier=dossier_id,
            number=number,
            status=RevisionStatus.draft.value,
            created_at=now,
        )
    )
    return revision_id


async def get_dossier(principal: Principal, dossier_id: str) -> DossierOut:
    """A dossier with its current revision's answers and evidence."""
    return await _dossier_out(await load_for_read(principal, dossier_id))


async def list_dossiers(principal: Principal, cursor: str | None, limit: int) -> DossierPage:
    """The caller's organisation's dossiers, most recently changed first."""
    organisation = supplier_organisation(principal)
    query = (
        Dossier.select()
        .where(Dossier.organisation == organisation)
        .order_by(Dossier.updated_at, Dossier.id, ascending=False)
    )
    if cursor:
        t, key = decode_time_id_cursor(cursor)
        query = query.where(
            (Dossier.updated_at < t) | ((Dossier.updated_at == t) & (Dossier.id < key))
        )
    rows = await fetch(query.limit(limit + 1), DossierRecord)
    refs = [f"{row.id}:{row.current_revision}" for row in rows[:limit]]
    statuses = (
        {
            r.natural_key: r.status
            for r in await fetch(
                Revision.select(Revision.natural_key, Revision.status).where(
                    Revision.natural_key.is_in(refs)
                ),
                _RevisionStatus,
            )
        }
        if refs
        else {}
    )
    items = [
        DossierSummary(
            id=str(row.id),
            product_id=str(row.product),
            product_version=row.product_version,
            criteria_set=row.criteria_set,
            revision=row.current_revision,
            status=statuses[f"{row.id}:{row.current_revision}"],
            updated_at=as_datetime(row.updated_at),
        )
        for row in rows[:limit]
    ]
    more = len(rows) > limit
    return DossierPage(
        items=items,
        next_cursor=(
            encode_time_id_cursor(rows[limit - 1].updated_at, items[-1].id) if more else None
        ),
    )


def check_if_match(loaded: Loaded, if_match: str | None) -> None:
    """A change to the dossier itself must name its current ETag (RFC 9110 §13.1.1)."""
    if if_match is None:
        raise PreconditionRequired(
            f"send If-Match with the dossier's current ETag ({loaded.etag}) to change it"
        )
    offered = [tag.strip() for tag in if_match.split(",")]
    if "*" not in offered and loaded.etag not in offered:
        raise PreconditionFailed(
            f"the dossier changed: its ETag is now {loaded.etag}, not {if_match}"
        )


async def update_dossier(
    principal: Principal, dossier_id: str, request: DossierUpdate, if_match: str | None
) -> DossierOut:
    """Change a draft dossier's product version or summary, guarded by If-Match."""
    async with write_transaction():
        loaded = await load_for_write(principal, dossier_id)
        check_if_match(loaded, if_match)
        changes: dict[Any, Any] = {}
        if request.product_version is not None:
            changes[Dossier.product_version] = request.product_version
        if request.summary is not None:
            changes[Dossier.summary] = request.summary
        if changes:
            await Dossier.update(changes).where(Dossier.id == loaded.dossier.id)
            await bump_row_version(loaded)
            await audit.record(
                Actor(principal.user_id),
                AuditTag.dossier_updated,
                f"dossier:{loaded.dossier.id}",
                {"fields": sorted(column._meta.name for column in changes)},
            )
    return await get_dossier(principal, dossier_id)


def applicable(loaded: Loaded, code: str) -> Criterion:
    """The criterion ``code`` if it applies to this dossier's product; 422 saying why not."""
    criterion = find_criterion(loaded.document, code)
    if criterion is None:
        raise NotFound(f"criteria set {loaded.dossier.criteria_set} has no criterion {code!r}")
    if not applies(criterion, loaded.profile):
        conditions = "; ".join(
            f"{c.field} in {', '.join(str(v) for v in c.any_of)}" for c in criterion.applies_if
        )
        raise InvalidInput(
            f"criterion {code} does not apply to this product: it applies only when {conditions}",
            field="criterion_code",
        )
    return criterion


async def put_answer(
    principal: Principal, dossier_id: str, code: str, request: AnswerPut
) -> AnswerOut | None:
    """Store (or with null, clear) one answer in the current draft revision."""
    async with write_transaction():
        loaded = await load_for_write(principal, dossier_id)
        criterion = applicable(loaded, code)
        value = validate_answer(criterion, request.value)
        ref = f"{loaded.revision.id}:{code}"
        now = clock.now()
        await Answer.delete().where(Answer.natural_key == ref)
        stored = None
        if value is not None:
            await Answer.insert(
                Answer(
                    natural_key=ref,
                    revision=loaded.revision.id,
                    criterion_code=code,
                    value=canonical_json(value).decode(),
                    updated_at=now,
                )
            )
            stored = AnswerOut(code=code, value=value, updated_at=as_datetime(now))
        await bump_row_version(loaded)
        await audit.record(
            Actor(principal.user_id),
            AuditTag.answer_saved,
            f"dossier:{loaded.dossier.id}",
            {"revision": loaded.revision.number, "criterion": code, "cleared": value is None},
        )
    return stored


async def _state(loaded: Loaded) -> tuple[list[Criterion], dict[str, object], list[EvidenceFact]]:
    answers = {
        row.criterion_code: msgspec.json.decode(row.value)
        for row in await _answers(loaded.revision.id)
    }
    facts = [_fact(row) for row in await evidence_rows(loaded.revision.id)]
    return applicable_criteria(loaded.document, loaded.profile), answers, facts


def _today() -> dt.date:
    return as_date(clock.now())


async def _completeness(loaded: Loaded) -> CompletenessOut:
    criteria_list, answers, facts = await _state(loaded)
    gaps = rules.completeness(
        criteria_list, answers, facts, _today(), get_settings().evidence_min_remaining_days
    )
    return CompletenessOut(
        complete=not gaps,
        applicable_criteria=len(criteria_list),
        answered=sum(1 for c in criteria_list if c.code in answers),
        gaps=[GapOut(code=g.code, title=g.title, problem=g.problem) for g in gaps],
    )


async def completeness(principal: Principal, dossier_id: str) -> CompletenessOut:
    """What the current revision still lacks before it can be submitted."""
    return await _completeness(await load_for_read(principal, dossier_id))


class Incomplete(InvalidInput):
    """Submission refused: the completeness report says what is missing."""

    def __init__(self, report: CompletenessOut) -> None:
        super().__init__(
            f"the dossier is incomplete: {len(report.gaps)} gap(s), "
            f"first {report.gaps[0].code}: {report.gaps[0].problem}",
            field="completeness",
            extra={"completeness": msgspec.to_builtins(report)},
        )


async def submit(principal: Principal, dossier_id: str) -> RevisionOut:
    """Freeze the current draft (canonical content + SHA-256) and put it on the review queue."""
    async with write_transaction():
        loaded = await load_for_write(principal, dossier_id)
        rules.transition(RevisionStatus(loaded.revision.status), RevisionAction.submit)
        report = await _completeness(loaded)
        if not report.complete:
            raise Incomplete(report)
        criteria_list, answers, facts = await _state(loaded)
        applicable_codes = {c.code for c in criteria_list}
        content = rules.frozen_content(
            dossier_id=str(loaded.dossier.id),
            revision=loaded.revision.number,
            product={
                "id": str(loaded.product.id),
                "name": loaded.product.name,
                "intended_purpose": loaded.product.intended_purpose,
                "profile": msgspec.json.decode(loaded.product.profile),
            },
            product_version=loaded.dossier.product_version,
            criteria_set={
                "key": loaded.document.key,
                "version": loaded.document.version,
                "sha256": loaded.criteria_sha256,
            },
            answers={k: v for k, v in answers.items() if k in applicable_codes},
            evidence=facts,
        )
        digest = canonical_digest(content)
        now = clock.now()
        await Revision.update(
            {
                Revision.status: RevisionStatus.submitted.value,
                Revision.digest: digest,
                Revision.frozen: canonical_json(content).decode(),
                Revision.submitted_at: now,
            }
        ).where(Revision.id == loaded.revision.id)
        await bump_row_version(loaded)
        await queue.enqueue(
            revision_id=loaded.revision.id,
            dossier_id=loaded.dossier.id,
            supplier=loaded.dossier.organisation,
            round_=loaded.revision.number,
            reviews=loaded.document.review_policy.required_reviews,
            now=now,
        )
        await audit.record(
            Actor(principal.user_id),
            AuditTag.revision_submitted,
            f"dossier:{loaded.dossier.id}",
            {"revision": loaded.revision.number, "digest": digest},
        )
    return await _revision_out(loaded.dossier.id, loaded.revision.number)


async def withdraw(principal: Principal, dossier_id: str) -> DossierOut:
    """Take back a submission nobody has claimed; the next revision starts as a draft copy."""
    async with write_transaction():
        organisation = supplier_organisation(principal)
        loaded = await _load(dossier_id)
        if loaded is None or loaded.dossier.organisation != organisation:
            raise NotFound(f"no dossier {dossier_id!r}")
        rules.transition(RevisionStatus(loaded.revision.status), RevisionAction.withdraw)
        if await queue.has_claims(loaded.revision.id):
            raise Conflict("a reviewer has already claimed this submission; it cannot be withdrawn")
        await queue.withdraw_slots(loaded.revision.id)
        await Revision.update({Revision.status: RevisionStatus.withdrawn.value}).where(
            Revision.id == loaded.revision.id
        )
        await audit.record(
            Actor(principal.user_id),
            AuditTag.revision_withdrawn,
            f"dossier:{loaded.dossier.id}",
            {"revision": loaded.revision.number},
        )
        await start_next_revision(Actor(principal.user_id), loaded)
    return await get_dossier(principal, dossier_id)


async def start_next_revision(actor: Actor, loaded: Loaded) -> int:
    """Open revision n+1 as a draft copy of revision n (answers and evidence records)."""
    number = loaded.revision.number + 1
    now = clock.now()
    dossier_id = loaded.dossier.id
    revision_id = await _insert_revision(dossier_id, number, now)
    for row in await _answers(loaded.revision.id):
        await Answer.insert(
            Answer(
                natural_key=f"{revision_id}:{row.criterion_code}",
                revision=revision_id,
                criterion_code=row.criterion_code,
                value=row.value,
                updated_at=row.updated_at,
            )
        )
    for file in await evidence_rows(loaded.revision.id):
        copy = msgspec.structs.replace(file, id=uuid.uuid4(), revision=revision_id)
        await Evidence.insert(Evidence(**msgspec.structs.asdict(copy)))
    await Dossier.update(
        {
            Dossier.current_revision: number,
            Dossier.row_version: Dossier.row_version + 1,
            Dossier.updated_at: now,
        }
    ).where(Dossier.id == dossier_id)
    await audit.record(
        actor, AuditTag.revision_started, f"dossier:{dossier_id}", {"revision": number}
    )
    return int(number)


def _revision_row_out(row: RevisionRecord) -> RevisionOut:
    return RevisionOut(
        number=row.number,
        status=row.status,
        digest=row.digest,
        created_at=as_datetime(row.created_at),
        submitted_at=as_datetime(row.submitted_at),
        decided_at=as_datetime(row.decided_at),
        decision=msgspec.json.decode(row.decision, type=DecisionOut) if row.decision else None,
    )


async def _revision_out(dossier_id: uuid.UUID, number: int) -> RevisionOut:
    row = await fetch_one(
        Revision.select().where(Revision.natural_key == f"{dossier_id}:{number}"), RevisionRecord
    )
    if row is None:
        raise NotFound(f"dossier {dossier_id} has no revision {number}")
    return _revision_row_out(row)


async def list_revisions(principal: Principal, dossier_id: str) -> RevisionList:
    """Every revision of a dossier, oldest first."""
    loaded = await load_for_read(principal, dossier_id)
    rows = await fetch(
        Revision.select().where(Revision.dossier == loaded.dossier.id).order_by(Revision.number),
        RevisionRecord,
    )
    items = []
    for row in rows:
        shown = await progress.progress_of(row)
        items.append(
            msgspec.structs.replace(
                _revision_row_out(row),
                certificate_id=shown.certificate_id,
                issuance=shown.issuance,
                next_step=shown.next_step,
            )
        )
    return RevisionList(items=items)


def _change_out(fact: EvidenceFact) -> EvidenceChangeOut:
    return EvidenceChangeOut(
        sha256=fact.sha256,
        document_type=fact.document_type,
        criteria=list(fact.criteria),
        expires_on=calendar_date(fact.expires_on),
    )


async def revision_diff(principal: Principal, dossier_id: str, number: int) -> RevisionDiff:
    """What changed in revision ``number`` since the one before it."""
    loaded = await load_for_read(principal, dossier_id)
    if number < 2 or number > loaded.dossier.current_revision:
        raise NotFound(
            f"revision {number} has no earlier revision to compare with "
            f"(revisions 2..{loaded.dossier.current_revision} do)"
        )
    ids = {
        row.number: row.id
        for row in await fetch(
            Revision.select(Revision.id, Revision.number).where(
                Revision.natural_key.is_in(
                    [f"{loaded.dossier.id}:{n}" for n in (number - 1, number)]
                )
            ),
            _RevisionNumber,
        )
    }

    async def answers(n: int) -> dict[str, object]:
        return {
            row.criterion_code: msgspec.json.decode(row.value) for row in await _answers(ids[n])
        }

    async def facts(n: int) -> list[EvidenceFact]:
        return [_fact(row) for row in await evidence_rows(ids[n])]

    added, removed = rules.diff_evidence(await facts(number - 1), await facts(number))
    return RevisionDiff(
        base=number - 1,
        number=number,
        answers=[
            AnswerChangeOut(code=c.code, before=c.before, after=c.after)  # type: ignore[arg-type]
            for c in rules.diff_answers(await answers(number - 1), await answers(number))
        ],
        evidence_added=[_change_out(f) for f in added],
        evidence_removed=[_change_out(f) for f in removed],
    )


async def return_for_changes(revision_id: uuid.UUID, reason: str, actor: Actor) -> None:
    """An approval that cannot be certified goes back to its supplier as changes requested.

    Runs inside the caller's write transaction: the decision record says why, and the next
    revision starts as a draft copy, as after any request for changes.
    """
    revision = await fetch_one(Revision.select().where(Revision.id == revision_id), RevisionRecord)
    if revision is None:
        raise NotFound(f"no revision {revision_id}")
    status = rules.transition(revision.status, RevisionAction.return_for_changes)
    decided = msgspec.json.decode(revision.decision or "null", type=DecisionOut | None)
    record = DecisionOut(
        outcome="changes_requested",
        reasons=[
            *(decided.reasons if decided else []),
            f"no certificate could be issued: {reason}",
        ],
        section_percentages=decided.section_percentages if decided else {},
        failed_gates=decided.failed_gates if decided else [],
        sections_below_threshold=decided.sections_below_threshold if decided else [],
        comments=decided.comments if decided else {},
        returned_because=reason,
    )
    await Revision.update(
        {
            Revision.status: status.value,
            Revision.outcome: status.value,
            Revision.decision: canonical_json(msgspec.to_builtins(record)).decode(),
        }
    ).where(Revision.id == revision_id)
    await audit.record(
        actor,
        AuditTag.revision_returned,
        f"dossier:{revision.dossier}",
        {"revision": revision.number, "reason": reason},
    )
    await start_next_revision(actor, await load_current(revision.dossier))
