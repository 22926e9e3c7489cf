"""The one way a certificate's status changes (DESIGN §2, "Certificate").

Suspension, reinstatement, revocation and supersession all come here: the lifecycle rule
decides the new status, then the row, its event and the audit entry are written in the caller's
write transaction, and the in-process answer cache is dropped. Whatever else must join every
status change (the transparency log, notifications) joins here.
"""

from __future__ import annotations

from typing import Any

from piccolo.columns import Column

from registry.domain.audit_chain import AuditTag
from registry.domain.certificate import CertificateStatus, Reason, StatusAction, transition
from registry.records import CertificateRecord
from registry.services import answer_cache, audit
from registry.services.audit import Actor
from registry.tables import Certificate, CertificateEvent

_TAGS = {
    StatusAction.suspend: AuditTag.certificate_suspended,
    StatusAction.reinstate: AuditTag.certificate_reinstated,
    StatusAction.revoke: AuditTag.certificate_revoked,
    StatusAction.supersede: AuditTag.certificate_superseded,
}
_DONE = {
    StatusAction.suspend: "suspended",
    StatusAction.reinstate: "reinstated",
    StatusAction.revoke: "revoked",
    StatusAction.supersede: "superseded",
}


async def change(
    certificate: CertificateRecord,
    action: StatusAction,
    *,
    reason: Reason,
    note: str,
    actor: Actor,
    at: int,
    successor: str | None = None,
    event_note: str | None = None,
) -> CertificateStatus:
    """Apply ``action`` inside the caller's write transaction; Conflict when the lifecycle
    forbids it. ``successor`` names the certificate that supersedes this one; ``event_note``
    words the history entry when it should differ from the status note."""
    status = transition(certificate.status, action)
    changes: dict[Column | str, Any] = {
        Certificate.status: status.value,
        Certificate.status_reason: reason.value,
        Certificate.status_note: note,
        Certificate.status_changed_at: at,
    }
    if successor is not None:
        changes[Certificate.superseded_by] = successor
    await Certificate.update(changes).where(Certificate.id == certificate.id)
    await CertificateEvent.insert(
        CertificateEvent(
            certificate=certificate.id,
            at=at,
            action=_DONE[action],
            status=status.value,
            reason=reason.value,
            note=event_note if event_note is not None else note,
            actor=actor.id,
        )
    )
    details = {"successor": successor} if successor else {"reason": reason.value, "note": note}
    await audit.record(actor, _TAGS[action], f"certificate:{certificate.certificate_id}", details)
    # Dropped before the commit: an answer computed in between is at most answer_cache.TTL
    # (0.8 s) old, inside DESIGN's one-second bound for a status change to show everywhere.
    answer_cache.clear()
    return status
