"""Certificate statuses as a table: every (status, action) pair and its result (DESIGN §2)."""

from __future__ import annotations

import itertools

import pytest

from registry.domain.certificate import (
    CertificateStatus,
    ShownStatus,
    StatusAction,
    shown_status,
    transition,
)
from registry.errors import Conflict

S, A = CertificateStatus, StatusAction
EXPECTED: dict[tuple[CertificateStatus, StatusAction], CertificateStatus | None] = {
    (S.valid, A.suspend): S.suspended,
    (S.valid, A.reinstate): None,
    (S.valid, A.revoke): S.revoked,
    (S.valid, A.supersede): S.superseded,
    (S.suspended, A.suspend): None,
    (S.suspended, A.reinstate): S.valid,
    (S.suspended, A.revoke): S.revoked,
    (S.suspended, A.supersede): S.superseded,
    (S.revoked, A.suspend): None,
    (S.revoked, A.reinstate): None,
    (S.revoked, A.revoke): None,
    (S.revoked, A.supersede): None,
    (S.superseded, A.suspend): None,
    (S.superseded, A.reinstate): None,
    (S.superseded, A.revoke): None,
    (S.superseded, A.supersede): None,
}


def test_the_table_covers_every_pair() -> None:
    assert set(EXPECTED) == set(itertools.product(CertificateStatus, StatusAction))


@pytest.mark.parametrize(
    ("status", "action"), list(EXPECTED), ids=lambda v: getattr(v, "value", str(v))
)
def test_transition(status: CertificateStatus, action: StatusAction) -> None:
    expected = EXPECTED[(status, action)]
    if expected is None:
        with pytest.raises(Conflict):
            transition(status, action)
    else:
        assert transition(status, action) is expected


@pytest.mark.parametrize(
    ("status", "before_end", "shown"),
    [
        (S.valid, True, ShownStatus.valid),
        (S.valid, False, ShownStatus.expired),
        (S.suspended, True, ShownStatus.suspended),
        (S.suspended, False, ShownStatus.expired),
        (S.revoked, False, ShownStatus.revoked),
        (S.superseded, False, ShownStatus.superseded),
    ],
)
def test_expired_is_derived(
    status: CertificateStatus, before_end: bool, shown: ShownStatus
) -> None:
    valid_until = 1_000_000
    now = valid_until - 1 if before_end else valid_until
    assert shown_status(status, valid_until, now) is shown


def test_valid_until_is_cut_short_by_gate_evidence_only() -> None:
    from registry.domain.certificate import valid_until
    from registry.domain.dossier import EvidenceFact

    issued = 1_767_225_600  # 2026-01-01T00:00:00Z
    gate = EvidenceFact("a" * 64, "cyber_essentials_certificate", ("C3.1",), "2026-06-30", None)
    scored = EvidenceFact("b" * 64, "wcag_audit", ("D1.1",), "2026-02-01", None)
    end, limiter = valid_until(
        issued_at=issued, validity_days=365, evidence=[gate, scored], gate_codes=["C3.1"]
    )
    assert end == 1_782_864_000  # 2026-07-01T00:00:00Z: valid through the expiry day
    assert limiter is not None
    assert limiter.startswith("cyber_essentials_certificate")
    end, limiter = valid_until(
        issued_at=issued, validity_days=365, evidence=[scored], gate_codes=["C3.1"]
    )
    assert end == issued + 365 * 86_400
    assert limiter is None
