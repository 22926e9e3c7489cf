"""Verification for practices (DESIGN §5): by ID, statement or QR text, or PDF; online or offline.

Each entry point gathers facts, turns them into the numbered checks of DESIGN §5 and lets
``registry.domain.verdict`` decide. Online, the registry's own record supplies the issuance time,
status and validity; offline, a cached signed trust bundle supplies the keys and their status and
``registered``/``status`` stay unchecked (a fresh enough bundle stands in for them).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import msgspec

from registry import clock
from registry.db import read_transaction
from registry.domain import statement as claims_rules
from registry.domain.certificate import ShownStatus, shown_status
from registry.domain.certificate_id import MistypedCertificateId, normalise_certificate_id
from registry.domain.dates import as_datetime, long_date
from registry.domain.verdict import Check, CheckName, Outcome, Verdict, verdict
from registry.domain.words import reason
from registry.errors import InvalidInput
from registry.records import CertificateRecord, fetch_one
from registry.services import answer_cache, keys
from registry.services.certificates import history
from registry.settings import get_settings
from registry.signing.errors import SignatureInvalid
from registry.signing.jws import VerifiedStatement, verify_statement
from registry.signing.keys import certificate_public_key, certificate_sha256, load_root
from registry.signing.pades import PdfSignatureReport, async_inspect_pdf
from registry.signing.trust import (
    TrustStatus,
    listed_statuses,
    trusted_keys,
    verify_trust_document,
    verify_trust_document_pinned,
)
from registry.signing.validity import KeyRecord, key_valid_at
from registry.tables import Certificate
from schemas.certificate import StatusEvent
from schemas.verification import CertificateSummary, CheckOut, VerificationOut

STATEMENT_FILE = "statement.jws"
MAX_PDF_BYTES = 10 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class Trust:
    """What a verifier trusts: signing keys by kid (with status) and the root certificate.

    The keys' certificates are parsed once here, not on every verification.
    """

    keys: dict[str, KeyRecord]
    root_pem: str
    public_keys: dict[str, Any]
    certificate_digests: dict[str, str]

    @classmethod
    def of(cls, keys: dict[str, KeyRecord], root_pem: str) -> Trust:
        """Trust in ``keys`` under the root ``root_pem``."""
        return cls(
            keys=keys,
            root_pem=root_pem,
            public_keys={k: certificate_public_key(v.certificate_pem) for k, v in keys.items()},
            certificate_digests={k: certificate_sha256(v.certificate_pem) for k, v in keys.items()},
        )


# --- the checks -------------------------------------------------------------------------------


def check_id(text: str) -> tuple[Check, str | None]:
    """Check 1: well-formed ID with a right check character; returns the normalised form."""
    try:
        display = normalise_certificate_id(text)
    except MistypedCertificateId as e:
        return Check(CheckName.id_format, Outcome.failed, e.detail), None
    return Check(CheckName.id_format, Outcome.passed, f"{display} is well-formed."), display


def check_statement_id(
    token: str, verified: VerifiedStatement | None, found_id: str | None
) -> tuple[Check, str | None]:
    """Check 1 for a statement: the ID it claims (and the verify URL's, which must agree).

    A statement that does not verify still names what it pretends to be: for words and the
    look-up only (check 6 then finds the registry never issued this statement for that ID).
    """
    claimed = verified.claims["cid"] if verified else claims_rules.unverified_certificate_id(token)
    if not claimed and not found_id:
        return Check(
            CheckName.id_format, Outcome.failed, "The statement names no certificate ID."
        ), None
    id_check, display = check_id(claimed or found_id or "")
    if found_id and display and check_id(found_id)[1] != display:
        id_check = Check(
            CheckName.id_format,
            Outcome.failed,
            f"The URL names {found_id}, but the statement is for {display}.",
        )
    return id_check, display


def check_signature(token: str, trust: Trust) -> tuple[Check, VerifiedStatement | None]:
    """Check 2 (statement): the JWS verifies under a key of the trust material."""
    try:
        verified = verify_statement(token, trust.public_keys)
        claims_rules.read_claims(verified.claims)
    except (SignatureInvalid, InvalidInput) as e:
        return Check(
            CheckName.signature, Outcome.failed, f"The signed statement does not verify: {e.detail}"
        ), None
    return (
        Check(
            CheckName.signature,
            Outcome.passed,
            f"Signed by the registry's key {verified.kid[:12]}….",
        ),
        verified,
    )


def check_key(kid: str, trust: Trust, issued_at: int | None, *, offline: bool) -> Check:
    """Check 3: the key was valid, and not revoked, at the registry-recorded issuance time."""
    key = trust.keys.get(kid)
    if key is None:
        return Check(
            CheckName.key_valid, Outcome.failed, f"Key {kid[:12]}… is not in the trust material."
        )
    if issued_at is None:
        return Check(
            CheckName.key_valid,
            Outcome.not_checked,
            "The registry has no issuance record to judge the key against.",
        )
    if offline and key.status == "revoked":
        # Offline we only have the statement's own time, which a key thief could backdate.
        return Check(
            CheckName.key_valid,
            Outcome.not_checked,
            f"Key {kid[:12]}… has been revoked; only the registry's own issuance record can say "
            "whether this was signed before that. Verify online.",
        )
    judged = key_valid_at(key, issued_at)
    return Check(
        CheckName.key_valid, Outcome.passed if judged.valid else Outcome.failed, judged.reason + "."
    )


def check_document(report: PdfSignatureReport) -> Check:
    """Check 4: the PDF signature covers the entire file: nothing was appended after signing."""
    if not report.signed:
        return Check(CheckName.document_unmodified, Outcome.failed, "The PDF carries no signature.")
    if not report.intact:
        return Check(
            CheckName.document_unmodified,
            Outcome.failed,
            "The signed bytes were changed after signing.",
        )
    if not report.coverage_entire_file:
        return Check(
            CheckName.document_unmodified,
            Outcome.failed,
            "Something was added to the PDF after it was signed.",
        )
    return Check(
        CheckName.document_unmodified, Outcome.passed, "The signature covers the whole file."
    )


def check_pdf_signature(report: PdfSignatureReport, trust: Trust) -> Check:
    """Check 2 (PDF): the PAdES signature is valid, chains to our root, by a key we published."""
    if not report.valid:
        why = report.error or "it does not verify against the registry's root certificate"
        return Check(CheckName.signature, Outcome.failed, f"The PDF signature is not valid: {why}.")
    key = trust.keys.get(report.signer_kid or "")
    if key is None or trust.certificate_digests[key.kid] != report.signer_certificate_sha256:
        return Check(
            CheckName.signature,
            Outcome.failed,
            "The PDF was signed by a key the registry never published.",
        )
    return Check(
        CheckName.signature,
        Outcome.passed,
        f"The PDF is signed by the registry's key {key.kid[:12]}….",
    )


@dataclass(frozen=True, slots=True)
class Record:
    """The registry's own record of a certificate (online verification only)."""

    row: CertificateRecord
    history: list[StatusEvent]

    @property
    def shown(self) -> ShownStatus:
        """The status people see now (expired derived from the clock)."""
        return shown_status(self.row.status, self.row.valid_until, clock.now())


def check_registered(record: Record | None, display: str | None, token: str | None = None) -> Check:
    """Check 6: the registry knows this certificate (and, given a statement, issued that one)."""
    if record is None:
        return Check(
            CheckName.registered,
            Outcome.failed,
            f"The registry has no certificate {display}."
            if display
            else "There is no well-formed certificate ID to look up.",
        )
    if token is not None and token != record.row.statement:
        return Check(
            CheckName.registered,
            Outcome.failed,
            "The registry knows this certificate ID, but never issued this statement for it.",
        )
    return Check(
        CheckName.registered,
        Outcome.passed,
        f"The registry issued {record.row.certificate_id} on {long_date(record.row.issued_at)}.",
    )


def check_status(record: Record) -> Check:
    """Check 7: the current status is valid — else the status, reason and date."""
    row = record.row
    shown = record.shown
    if shown is ShownStatus.valid:
        return Check(CheckName.status, Outcome.passed, "Its status today is valid.")
    if shown is ShownStatus.expired:
        return Check(
            CheckName.status, Outcome.failed, f"It expired on {long_date(row.valid_until)}."
        )
    when = long_date(row.status_changed_at) if row.status_changed_at else "an unknown date"
    text = f"It was {shown.value} on {when} because of {reason(row.status_reason)}"
    if row.status_note:
        text += f": {row.status_note}"
    if row.superseded_by:
        text += f" Replaced by {row.superseded_by}."
    return Check(CheckName.status, Outcome.failed, text.rstrip(".") + ".")


def check_not_expired(valid_until: int) -> Check:
    """Check 8: now is before ``valid_until``."""
    if clock.now() < valid_until:
        return Check(
            CheckName.not_expired, Outcome.passed, f"Valid until {long_date(valid_until)}."
        )
    return Check(CheckName.not_expired, Outcome.failed, f"It expired on {long_date(valid_until)}.")


def check_in_log() -> Check:
    """Check 9: reported, not yet decisive — the public log does not exist yet."""
    return Check(
        CheckName.in_log,
        Outcome.not_checked,
        "The public transparency log is not running yet, so inclusion was not checked.",
    )


# --- assembling an answer ---------------------------------------------------------------------


def _headline(result: Verdict, record: Record | None, checks: list[Check]) -> tuple[str, str]:
    base = f"{get_settings().base_url}/v"
    if result is Verdict.good_to_go:
        return (
            "Good to go",
            "This product was independently assessed and its certificate holds today. "
            "You can rely on it without re-running the assessment.",
        )
    if result is Verdict.unknown:
        return (
            "Could not confirm",
            f"Some checks could not be made (see below). Verify online at {base}, "
            "or ask the supplier for a current certificate.",
        )
    shown = record.shown if record else None
    if shown is ShownStatus.suspended:
        return (
            "Not good to go: suspended",
            "Do not start using this product on the strength of this certificate. "
            "Ask the supplier what is being done, and check back here.",
        )
    if shown is ShownStatus.revoked:
        return (
            "Not good to go: revoked",
            "The registry withdrew this certificate for good. Stop relying on it; if the product "
            "is in use, review that with your clinical safety lead.",
        )
    if shown is ShownStatus.superseded and record is not None:
        return (
            "Not good to go: replaced by a newer certificate",
            f"Verify the newer certificate {record.row.superseded_by} instead.",
        )
    if shown is ShownStatus.expired:
        return (
            "Not good to go: expired",
            "The assessment is out of date. Ask the supplier for a reassessment.",
        )
    failed = [c.name for c in checks if c.outcome is Outcome.failed]
    if CheckName.registered in failed and CheckName.signature not in failed:
        return (
            "Not good to go: not issued by the registry",
            "The registry has no such certificate. Do not rely on it; report it to the registry.",
        )
    return (
        "Not good to go: this is not a genuine certificate",
        "It was not issued by the registry or was altered afterwards. Do not rely on it, "
        "and report it to the registry.",
    )


def _summary(record: Record) -> CertificateSummary:
    row = record.row
    return CertificateSummary(
        certificate_id=row.certificate_id,
        product_name=row.product_name,
        product_version=row.product_version,
        supplier_name=row.supplier_name,
        intended_purpose=row.intended_purpose,
        criteria_set=row.criteria_set,
        issued_at=as_datetime(row.issued_at),
        valid_until=as_datetime(row.valid_until),
        status=record.shown.value,
        status_reason=row.status_reason,
        status_note=row.status_note,
        superseded_by=row.superseded_by,
        history=record.history,
    )


def answer(
    checks: list[Check],
    *,
    record: Record | None,
    summary: CertificateSummary | None = None,
    mode: str = "online",
    covered: frozenset[CheckName] = frozenset(),
    trust_age: int | None = None,
) -> VerificationOut:
    """The verdict, headline, advice and checks, as the API and pages return them."""
    result = verdict(checks, covered=covered)
    headline, advice = _headline(result, record, checks)
    return VerificationOut(
        verdict=result.value,
        headline=headline,
        advice=advice,
        checks=[
            CheckOut(
                number=int(c.name),
                name=c.name.name,
                outcome=c.outcome.value,
                explanation=c.explanation,
            )
            for c in checks
        ],
        certificate=_summary(record) if record else summary,
        checked_at=as_datetime(clock.now()),
        mode="offline" if mode == "offline" else "online",
        trust_age_seconds=trust_age,
    )


# --- online entry points ----------------------------------------------------------------------


async def _record(display: str) -> Record | None:
    async with read_transaction():
        row = await fetch_one(
            Certificate.select().where(Certificate.certificate_id == display), CertificateRecord
        )
        if row is None:
            return None
        return Record(row, await history(row))


async def online_trust() -> Trust:
    """The registry's own keys (including revoked ones) and root, remembered for a moment."""
    cached = answer_cache.get("trust")
    if isinstance(cached, Trust):
        return cached
    trust = Trust.of(
        {key.kid: key for key in await keys.all_keys()},
        load_root(keys.key_files()).certificate_pem,
    )
    answer_cache.put("trust", trust)
    return trust


async def verify_id(text: str) -> VerificationOut:
    """Verify by certificate ID; a mistyped ID raises (422) before any lookup."""
    display = normalise_certificate_id(text)
    now = clock.now()
    cached = answer_cache.get(("id", display))
    if cached is not None and abs(now - cached[0]) <= 1:
        return cached[1]  # type: ignore[no-any-return]
    answered = await _verify_id(display)
    answer_cache.put(("id", display), (now, answered))
    return answered


async def _verify_id(display: str) -> VerificationOut:
    record = await _record(display)
    checks = [Check(CheckName.id_format, Outcome.passed, f"{display} is well-formed.")]
    if record is None:
        checks += [
            Check(
                CheckName.signature, Outcome.not_checked, "Nothing to check: no such certificate."
            ),
            Check(
                CheckName.key_valid, Outcome.not_checked, "Nothing to check: no such certificate."
            ),
            check_registered(None, display),
            Check(CheckName.status, Outcome.not_checked, "No such certificate."),
            Check(CheckName.not_expired, Outcome.not_checked, "No such certificate."),
            check_in_log(),
        ]
        return answer(checks, record=None)
    trust = await online_trust()
    signature, verified = check_signature(record.row.statement, trust)
    checks += [
        signature,
        check_key(verified.kid, trust, record.row.issued_at, offline=False)
        if verified
        else Check(CheckName.key_valid, Outcome.not_checked, "The statement did not verify."),
        check_registered(record, display),
        check_status(record),
        check_not_expired(record.row.valid_until),
        check_in_log(),
    ]
    return answer(checks, record=record)


async def verify_statement_text(text: str) -> VerificationOut:
    """Verify a compact JWS or a scanned verify URL (``…/v/{id}#{jws}``)."""
    found_id, token = claims_rules.parse_verify_text(text)
    if token is None:
        return await verify_id(found_id or "")
    trust = await online_trust()
    signature, verified = check_signature(token, trust)
    id_check, display = check_statement_id(token, verified, found_id)
    record = await _record(display) if display else None
    checks = [
        id_check,
        signature,
        check_key(verified.kid, trust, record.row.issued_at if record else None, offline=False)
        if verified
        else Check(CheckName.key_valid, Outcome.not_checked, "The statement did not verify."),
        check_registered(record, display, token),
    ]
    checks += _live_checks(record)
    return answer(checks, record=record)


async def verify_pdf(data: bytes) -> VerificationOut:
    """Verify an uploaded certificate PDF: its PAdES signature, its coverage, its statement."""
    trust = await online_trust()
    report = await async_inspect_pdf(data, trust.root_pem)
    token = _embedded_statement(report)
    verified: VerifiedStatement | None = None
    if token is not None:
        _, verified = check_signature(token, trust)
    display = None
    id_check = Check(
        CheckName.id_format, Outcome.failed, "The PDF carries no readable signed statement."
    )
    if verified is not None:
        id_check, display = check_id(verified.claims["cid"])
    record = await _record(display) if display else None
    signature = check_pdf_signature(report, trust)
    kid = report.signer_kid or ""
    checks = [
        id_check,
        signature,
        check_key(kid, trust, record.row.issued_at if record else None, offline=False),
        check_document(report),
        _check_statement_matches(token, verified, record, report),
        check_registered(record, display),
    ]
    checks += _live_checks(record)
    return answer(checks, record=record)


def _live_checks(record: Record | None) -> list[Check]:
    """Checks 7–9 from the registry's record (status and expiry are unknowable without it)."""
    if record is None:
        missing = "The registry has no such certificate."
        return [
            Check(CheckName.status, Outcome.not_checked, missing),
            Check(CheckName.not_expired, Outcome.not_checked, missing),
            check_in_log(),
        ]
    return [check_status(record), check_not_expired(record.row.valid_until), check_in_log()]


def _embedded_statement(report: PdfSignatureReport) -> str | None:
    # Only a statement inside a valid signature that covers the whole file can be trusted.
    raw = report.embedded_files.get(STATEMENT_FILE)
    if raw is None:
        return None
    try:
        return raw.decode("ascii").strip()
    except UnicodeDecodeError:
        return None


def _check_statement_matches(
    token: str | None,
    verified: VerifiedStatement | None,
    record: Record | None,
    report: PdfSignatureReport,
) -> Check:
    """Check 5: the statement inside the PDF is the registry's statement for that certificate."""
    if token is None or verified is None:
        return Check(
            CheckName.statement_matches,
            Outcome.failed,
            "The PDF carries no valid signed statement.",
        )
    if not (report.valid and report.coverage_entire_file):
        return Check(
            CheckName.statement_matches,
            Outcome.failed,
            "The statement cannot be trusted: the PDF signature around it does not hold.",
        )
    if record is None:
        return Check(
            CheckName.statement_matches,
            Outcome.not_checked,
            "The registry has no such certificate to compare with.",
        )
    if token != record.row.statement:
        return Check(
            CheckName.statement_matches,
            Outcome.failed,
            "The statement in the PDF is not the one the registry issued.",
        )
    return Check(
        CheckName.statement_matches,
        Outcome.passed,
        "The statement in the PDF is the registry's own.",
    )


# --- offline ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Bundle:
    """A cached trust bundle, verified: its trust, and when it was fetched."""

    trust: Trust
    fetched_at: int
    made_at: int
    statuses: dict[str, TrustStatus]


def load_bundle(saved: dict[str, Any], *, root_sha256: str | None = None) -> Bundle:
    """Verify a saved trust bundle (``registry trust fetch``) against its root, or a pinned one."""
    try:
        signed = saved["signed"]
        fetched_at = int(saved["fetched_at"])
        if root_sha256:
            document = verify_trust_document_pinned(signed, root_sha256)
        else:
            document = verify_trust_document(signed, saved["document"]["root"]["certificate_pem"])
    except (KeyError, TypeError, ValueError) as e:
        raise InvalidInput(f"not a saved trust bundle: {e}", field="trust") from e
    return Bundle(
        Trust.of(trusted_keys(document), document["root"]["certificate_pem"]),
        fetched_at,
        int(document["issued_at"]),
        listed_statuses(document),
    )


def check_listed_status(display: str | None, bundle: Bundle) -> Check:
    """Check 7 offline: the bundle's status list, as of the bundle's time (live status unknown)."""
    listed = bundle.statuses.get(display or "")
    as_of = long_date(bundle.made_at)
    if listed is None:
        return Check(
            CheckName.status,
            Outcome.not_checked,
            f"Offline: not suspended, revoked or replaced as of the trust bundle of {as_of}; "
            "live status was not checked.",
        )
    because = f" because of {reason(listed.reason)}" if listed.reason else ""
    replaced = f", replaced by {listed.superseded_by}" if listed.superseded_by else ""
    return Check(
        CheckName.status,
        Outcome.failed,
        f"As of the trust bundle of {as_of}, the registry listed it as {listed.status}"
        f"{because}{replaced}.",
    )


def _claims_summary(verified: VerifiedStatement) -> CertificateSummary:
    claims = claims_rules.read_claims(verified.claims)
    return CertificateSummary(
        certificate_id=claims.certificate_id,
        product_name=claims.product_name,
        product_version=claims.product_version,
        supplier_name=claims.supplier_name,
        intended_purpose=None,
        criteria_set=claims.criteria_set_ref,
        issued_at=as_datetime(claims.issued_at),
        valid_until=as_datetime(claims.valid_until),
        status=None,
        status_reason=None,
        status_note=None,
        superseded_by=None,
        history=[],
    )


OFFLINE_UNREGISTERED = Check(
    CheckName.registered,
    Outcome.not_checked,
    "Offline: the registry was not asked whether it knows this certificate.",
)


async def verify_offline(text_or_pdf: str | bytes, bundle: Bundle, max_age: int) -> VerificationOut:
    """Verify a statement, QR text or PDF against a cached trust bundle, without the registry.

    ``registered`` and ``status`` cannot be checked offline; a bundle no older than ``max_age``
    stands in for them, an older one leaves the verdict ``unknown``.
    """
    trust = bundle.trust
    report: PdfSignatureReport | None = None
    if isinstance(text_or_pdf, bytes):
        report = await async_inspect_pdf(text_or_pdf, trust.root_pem)
        token = _embedded_statement(report)
        found_id = None
    else:
        found_id, token = claims_rules.parse_verify_text(text_or_pdf)
    if token is None:
        id_check, id_display = check_id(found_id or "")
        checks = [
            id_check,
            Check(
                CheckName.signature,
                Outcome.not_checked,
                "Offline, an ID alone carries no signature to check.",
            ),
            Check(CheckName.key_valid, Outcome.not_checked, "No signed statement to judge."),
            OFFLINE_UNREGISTERED,
            check_listed_status(id_display, bundle),
            Check(CheckName.not_expired, Outcome.not_checked, "No signed statement to read."),
            check_in_log(),
        ]
        return answer(
            checks, record=None, mode="offline", trust_age=clock.now() - bundle.fetched_at
        )
    signature, verified = check_signature(token, trust)
    id_check, display = check_statement_id(token, verified, found_id)
    issued_at = int(verified.claims["iat"]) if verified else None
    checks = [id_check]
    if report is not None:
        checks.append(check_pdf_signature(report, trust))
        checks.append(check_key(report.signer_kid or "", trust, issued_at, offline=True))
        checks.append(check_document(report))
        matches = verified is not None and report.valid and report.coverage_entire_file
        checks.append(
            Check(
                CheckName.statement_matches,
                Outcome.passed if matches else Outcome.failed,
                "The statement inside the signed PDF verifies and names this certificate."
                if matches
                else "The PDF carries no statement that its signature vouches for.",
            )
        )
    else:
        checks.append(signature)
        checks.append(
            check_key(verified.kid, trust, issued_at, offline=True)
            if verified
            else Check(CheckName.key_valid, Outcome.not_checked, "The statement did not verify.")
        )
    checks += [OFFLINE_UNREGISTERED, check_listed_status(display, bundle)]
    checks.append(
        check_not_expired(int(verified.claims["exp"]))
        if verified
        else Check(CheckName.not_expired, Outcome.not_checked, "No verified statement to read.")
    )
    checks.append(check_in_log())
    age = clock.now() - bundle.fetched_at
    covered = frozenset({CheckName.registered, CheckName.status}) if age <= max_age else frozenset()
    result = answer(
        checks,
        record=None,
        summary=_claims_summary(verified) if verified else None,
        mode="offline",
        covered=covered,
        trust_age=age,
    )
    if result.verdict == "unknown" and age > max_age:
        stale = (
            f"The saved trust bundle is {age // 3600} hours old (the limit is {max_age // 3600}): "
            "fetch a fresh one (`registry trust fetch`) or verify online."
        )
        return msgspec.structs.replace(result, advice=stale)
    return result
