"""The registry's tables. Times are integer UTC seconds, JSON is canonical text.

Integer times and text JSON keep SQLite and PostgreSQL byte-for-byte alike, which the
hash chains depend on.
"""

from __future__ import annotations

from piccolo.columns import (
    UUID,
    BigInt,
    Boolean,
    Bytea,
    ForeignKey,
    Integer,
    OnDelete,
    Text,
    Varchar,
)
from piccolo.table import Table

from registry.domain.certificate import CertificateStatus
from registry.domain.dossier import RevisionStatus
from registry.domain.identity import OrganisationKind, Role
from registry.domain.issuance import IssuanceState
from registry.domain.review import CaseStatus, SlotStatus
from registry.domain.signing_key import SigningKeyStatus


class Organisation(Table, tablename="organisation"):
    """A supplier of health technology, or an assessor organisation employing reviewers."""

    id = UUID(primary_key=True)
    name = Varchar(length=200, unique=True)
    kind = Varchar(length=16, choices=OrganisationKind)
    created_at = BigInt()


class User(Table, tablename="registry_user"):
    """A person acting through API tokens, with one role; signing in to the pages once they set
    a password through their invitation (``password_hash``: argon2id, NULL until then)."""

    id = UUID(primary_key=True)
    email = Varchar(length=254, unique=True)
    name = Varchar(length=200)
    role = Varchar(length=32, choices=Role)
    organisation = ForeignKey(references=Organisation, null=True, on_delete=OnDelete.restrict)
    active = Boolean(default=True)
    created_at = BigInt()
    password_hash = Varchar(length=255, null=True, default=None, secret=True)


class Invitation(Table, tablename="invitation"):
    """A one-time link to set a password, stored only as the SHA-256 of its secret."""

    id = UUID(primary_key=True)
    user = ForeignKey(references=User, on_delete=OnDelete.restrict, index=True)
    token_hash = Varchar(length=64, unique=True)
    created_by = Varchar(length=64)
    created_at = BigInt()
    expires_at = BigInt()
    used_at = BigInt(null=True, default=None)


class WebSession(Table, tablename="web_session"):
    """A signed-in person's server-side session (the Litestar store of ``services.sessions``).

    ``key`` is the SHA-256 of the cookie's session id, so the table cannot be replayed as
    cookies; ``user`` lets deactivation end every session of a person at once.
    """

    key = Varchar(length=64, unique=True)
    value = Bytea()
    expires_at = BigInt(null=True, default=None, index=True)
    user = UUID(null=True, default=None, index=True)


class ApiToken(Table, tablename="api_token"):
    """An API token, stored only as its SHA-256; the secret is shown once at creation."""

    id = UUID(primary_key=True)
    user = ForeignKey(references=User, on_delete=OnDelete.restrict)
    label = Varchar(length=100)
    display_prefix = Varchar(length=16)
    token_hash = Varchar(length=64, unique=True, index=True)
    created_at = BigInt()
    expires_at = BigInt(null=True, default=None)
    revoked_at = BigInt(null=True, default=None)
    last_used_at = BigInt(null=True, default=None)


class AuditEvent(Table, tablename="audit_event"):
    """One link of the hash-chained audit trail; rows are only ever appended."""

    position = BigInt(unique=True, index=True)
    tag = Varchar(length=64)
    actor = Varchar(length=64)
    subject = Varchar(length=128)
    at = BigInt()
    details = Text()
    prev_hash = Varchar(length=64)
    hash = Varchar(length=64)


class AuditHead(Table, tablename="audit_head"):
    """The chain's newest position and hash, updated with every append.

    Without it, deleting the newest events would leave a shorter chain that still verifies.
    """

    chain = Varchar(length=32, unique=True)
    position = BigInt()
    hash = Varchar(length=64)


class CriteriaSet(Table, tablename="criteria_set"):
    """A published criteria set: immutable, identified by the SHA-256 of its canonical JSON."""

    natural_key = Varchar(length=80, unique=True)  # "key/version": one row per key and version
    key = Varchar(length=64, index=True)
    version = Integer()
    title = Varchar(length=200)
    sha256 = Varchar(length=64)
    document = Text()
    criteria_count = Integer()
    published_at = BigInt()


class Product(Table, tablename="product"):
    """A supplier's lasting product: name, intended purpose and the profile criteria depend on."""

    id = UUID(primary_key=True)
    organisation = ForeignKey(references=Organisation, on_delete=OnDelete.restrict, index=True)
    name = Varchar(length=200)
    intended_purpose = Text()
    profile = Text()
    created_at = BigInt()


class Dossier(Table, tablename="dossier"):
    """One product version assessed against one criteria set, across its revisions."""

    id = UUID(primary_key=True)
    organisation = ForeignKey(references=Organisation, on_delete=OnDelete.restrict, index=True)
    product = ForeignKey(references=Product, on_delete=OnDelete.restrict)
    product_version = Varchar(length=64)
    summary = Text(default="")
    criteria_set = Varchar(length=80)  # CriteriaSet.ref
    current_revision = Integer()
    row_version = Integer()  # bumps on every change; the ETag
    created_at = BigInt()
    updated_at = BigInt()


class Revision(Table, tablename="revision"):
    """One round of a dossier; frozen (with its digest) once submitted."""

    id = UUID(primary_key=True)
    natural_key = Varchar(length=64, unique=True)  # "dossier-id:number"
    dossier = ForeignKey(references=Dossier, on_delete=OnDelete.restrict, index=True)
    number = Integer()
    status = Varchar(length=24, choices=RevisionStatus)
    digest = Varchar(length=64, null=True, default=None)
    frozen = Text(null=True, default=None)  # the canonical JSON the digest covers
    created_at = BigInt()
    submitted_at = BigInt(null=True, default=None)
    decided_at = BigInt(null=True, default=None)
    outcome = Varchar(length=24, null=True, default=None)
    # Canonical JSON of the decision the supplier sees: reasons, sections, per-criterion comments.
    decision = Text(null=True, default=None)


class Answer(Table, tablename="answer"):
    """A supplier's answer to one criterion in one revision (canonical JSON value)."""

    natural_key = Varchar(length=120, unique=True)  # "revision-id:code"
    revision = ForeignKey(references=Revision, on_delete=OnDelete.cascade, index=True)
    criterion_code = Varchar(length=32)
    value = Text()
    updated_at = BigInt()


class Evidence(Table, tablename="evidence"):
    """A file supporting criteria in one revision; the bytes live in the blob store by SHA-256."""

    id = UUID(primary_key=True)
    revision = ForeignKey(references=Revision, on_delete=OnDelete.cascade, index=True)
    document_type = Varchar(length=64)
    criteria = Text()  # canonical JSON list of criterion codes
    label = Varchar(length=255)  # the client's filename, a label only
    media_type = Varchar(length=64)
    size = BigInt()
    sha256 = Varchar(length=64)
    expires_on = Varchar(length=10, null=True, default=None)
    issued_on = Varchar(length=10, null=True, default=None)
    uploaded_at = BigInt()


class ReviewSlot(Table, tablename="review_slot"):
    """One independent review a submitted revision needs; claimed under a lease."""

    id = UUID(primary_key=True)
    natural_key = Varchar(length=64, unique=True)  # "revision-id:slot"
    revision = ForeignKey(references=Revision, on_delete=OnDelete.restrict, index=True)
    dossier = ForeignKey(references=Dossier, on_delete=OnDelete.restrict)
    supplier = ForeignKey(references=Organisation, on_delete=OnDelete.restrict)
    round = Integer()
    slot = Integer()
    status = Varchar(length=16, choices=SlotStatus, index=True)
    queued_at = BigInt(index=True)
    reviewer = ForeignKey(references=User, null=True, on_delete=OnDelete.restrict)
    # "revision-id:user-id" while held or submitted: one reviewer, one slot per revision.
    reviewer_key = Varchar(length=80, null=True, unique=True, default=None)
    claimed_at = BigInt(null=True, default=None)
    first_claimed_at = BigInt(null=True, default=None)
    lease_until = BigInt(null=True, default=None)
    submitted_at = BigInt(null=True, default=None)
    recommendation = Varchar(length=24, null=True, default=None)
    summary = Text(null=True, default=None)


class ReviewScore(Table, tablename="review_score"):
    """A reviewer's result for one criterion in one review slot."""

    natural_key = Varchar(length=80, unique=True)  # "slot-id:code"
    slot = ForeignKey(references=ReviewSlot, on_delete=OnDelete.cascade, index=True)
    criterion_code = Varchar(length=32)
    gate_pass = Boolean(null=True, default=None)
    score = Integer(null=True, default=None)
    not_applicable = Boolean(default=False)
    rationale = Text(default="")
    updated_at = BigInt()


class ConflictOfInterest(Table, tablename="conflict_of_interest"):
    """A reviewer's declared conflict with a supplier: they never get its dossiers."""

    natural_key = Varchar(length=80, unique=True)  # "user-id:organisation-id"
    reviewer = ForeignKey(references=User, on_delete=OnDelete.restrict, index=True)
    organisation = ForeignKey(references=Organisation, on_delete=OnDelete.restrict)
    note = Text(default="")
    declared_at = BigInt()


class ModerationCase(Table, tablename="moderation_case"):
    """A revision whose reviews disagreed, waiting for (or decided by) a lead reviewer."""

    id = UUID(primary_key=True)
    revision = ForeignKey(references=Revision, on_delete=OnDelete.restrict, unique=True)
    dossier = ForeignKey(references=Dossier, on_delete=OnDelete.restrict)
    status = Varchar(length=16, choices=CaseStatus)
    reasons = Text()  # canonical JSON list of plain-language reasons
    opened_at = BigInt()
    lead = ForeignKey(references=User, null=True, on_delete=OnDelete.restrict)
    decided_at = BigInt(null=True, default=None)
    recommendation = Varchar(length=24, null=True, default=None)
    summary = Text(null=True, default=None)
    final_scores = Text(null=True, default=None)  # canonical JSON {code: score}


class Issuance(Table, tablename="issuance"):
    """The certificate issuance of one approved revision, claimed by one issuer at a time."""

    revision = ForeignKey(references=Revision, on_delete=OnDelete.restrict, unique=True)
    dossier = ForeignKey(references=Dossier, on_delete=OnDelete.restrict, index=True)
    state = Varchar(length=16, choices=IssuanceState, index=True)
    attempts = Integer(default=0)  # claims so far; the current claim's number while issuing
    reason = Text(null=True, default=None)  # the last failure, in words people read
    next_attempt_at = BigInt(null=True, default=None)
    lease_until = BigInt(null=True, default=None)
    certificate_id = Varchar(length=16, null=True, default=None)
    created_at = BigInt()
    updated_at = BigInt()


class SigningKey(Table, tablename="signing_key"):
    """A signing key's public record: its window, status and revocation point (DESIGN §4)."""

    kid = Varchar(length=64, unique=True)
    status = Varchar(length=16, choices=SigningKeyStatus)
    not_before = BigInt()
    not_after = BigInt()
    sign_until = BigInt()
    certificate_pem = Text()
    revoked_from = BigInt(null=True, default=None)
    created_at = BigInt()
    changed_at = BigInt()


class Certificate(Table, tablename="certificate"):
    """An issued certificate: the statement, the stored PDF's digest and the current status."""

    id = UUID(primary_key=True)
    certificate_id = Varchar(length=16, unique=True)  # MKR-XXXX-XXXX-C
    revision = ForeignKey(references=Revision, on_delete=OnDelete.restrict, unique=True)
    dossier = ForeignKey(references=Dossier, on_delete=OnDelete.restrict)
    product = ForeignKey(references=Product, on_delete=OnDelete.restrict, index=True)
    organisation = ForeignKey(references=Organisation, on_delete=OnDelete.restrict, index=True)
    product_name = Varchar(length=200)
    product_version = Varchar(length=64)
    supplier_name = Varchar(length=200)
    intended_purpose = Text()
    esf_tier = Varchar(length=1)
    device_class = Varchar(length=8)
    criteria_set = Varchar(length=80, index=True)
    criteria_sha256 = Varchar(length=64)
    dossier_sha256 = Varchar(length=64)
    outcomes = Text()  # canonical JSON of the section outcomes
    issued_at = BigInt(index=True)
    valid_until = BigInt()
    kid = Varchar(length=64)
    statement = Text()
    pdf_sha256 = Varchar(length=64)
    status = Varchar(length=16, choices=CertificateStatus, index=True)
    status_reason = Varchar(length=32, null=True, default=None)
    status_note = Text(null=True, default=None)
    status_changed_at = BigInt(null=True, default=None)
    superseded_by = Varchar(length=16, null=True, default=None)
    search_text = Text()  # lower-cased product, supplier and purpose, for the directory


class CertificateEvent(Table, tablename="certificate_event"):
    """One change in a certificate's life, with its reason and note."""

    certificate = ForeignKey(references=Certificate, on_delete=OnDelete.restrict, index=True)
    at = BigInt()
    action = Varchar(length=16)
    status = Varchar(length=16)
    reason = Varchar(length=32, null=True, default=None)
    note = Text(default="")
    actor = Varchar(length=64)


class IdempotencyKey(Table, tablename="idempotency_key"):
    """A caller's Idempotency-Key, and the response its first request got, kept for 24 hours.

    ``lookup`` is a digest of the caller's credential and the key (the credential is never
    stored); its uniqueness decides which of two racing requests runs. ``status`` is NULL while
    that request runs. Only responses the rules in ``registry.domain.idempotency`` keep are here.
    """

    id = UUID(primary_key=True)
    lookup = Varchar(length=64, unique=True)
    fingerprint = Varchar(length=64)
    created_at = BigInt(index=True)
    status = Integer(null=True, default=None)
    headers = Text(default="[]")  # canonical JSON list of [name, value] pairs
    body = Bytea(default=b"")
