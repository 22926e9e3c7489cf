"""A frozen revision reads back typed, as it was hashed; dates read the same everywhere."""

from __future__ import annotations

import datetime as dt

import msgspec
import pytest

from registry.domain.canonical import canonical_json
from registry.domain.dates import DAY, as_date, as_datetime, long_date, moment
from registry.domain.dossier import EvidenceFact, decode_frozen, frozen_content
from schemas.base import Response, UtcTime

PROFILE = {
    "esf_tier": "B",
    "medical_device_class": "none",
    "processes_personal_data": True,
    "integrates_with_clinical_systems": False,
    "patient_facing": True,
}


def test_a_frozen_revision_reads_back_typed() -> None:
    evidence = EvidenceFact("ab" * 32, "dpia", ("C2.1", "C2.2"), "2027-01-31", None, label="q.pdf")
    content = frozen_content(
        dossier_id="d-1",
        revision=2,
        product={
            "id": "p-1",
            "name": "CareFlow",
            "intended_purpose": "Booking.",
            "profile": PROFILE,
        },
        product_version="4.2",
        criteria_set={"key": "kitemark-core", "version": 1, "sha256": "cd" * 32},
        answers={"C2.1": True, "C1.1": "Described."},
        evidence=[evidence],
    )
    frozen = decode_frozen(canonical_json(content).decode())
    assert frozen.criteria_set.ref == "kitemark-core/1"
    assert frozen.product.profile.esf_tier == "B"
    assert frozen.answers == {"C1.1": "Described.", "C2.1": True}
    [file] = frozen.evidence
    assert file.fact() == EvidenceFact("ab" * 32, "dpia", ("C2.1", "C2.2"), "2027-01-31", None)
    assert "q.pdf" not in canonical_json(content).decode(), "the label is never frozen"


@pytest.mark.parametrize(
    ("value", "words"),
    [
        (0, "1 January 1970"),
        (1_741_000_000, "3 March 2025"),
        (dt.date(2026, 11, 30), "30 November 2026"),
        (dt.datetime(2026, 5, 3, 23, 30, tzinfo=dt.timezone(dt.timedelta(hours=-2))), "4 May 2026"),
    ],
)
def test_long_dates(value: dt.date | int, words: str) -> None:
    assert long_date(value) == words


def test_a_moment_is_to_the_minute_in_utc() -> None:
    assert moment(1_741_000_000) == "2025-03-03 11:06 UTC"
    assert as_date(DAY - 1) == dt.date(1970, 1, 1)
    with pytest.raises(TypeError):
        as_date(True)


class _Stamped(Response, frozen=True):
    at: UtcTime
    until: UtcTime | None


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0, "1970-01-01T00:00:00Z"),
        (1_741_000_000, "2025-03-03T11:06:40Z"),
        (1_800_000_000, "2027-01-15T08:00:00Z"),
        (DAY - 1, "1970-01-01T23:59:59Z"),
    ],
)
def test_a_response_time_is_rfc3339_utc_to_the_second(seconds: int, text: str) -> None:
    shown = msgspec.json.encode(_Stamped(at=as_datetime(seconds), until=as_datetime(None)))
    assert shown == f'{{"at":"{text}","until":null}}'.encode()
    back = msgspec.json.decode(shown, type=_Stamped)
    assert int(back.at.timestamp()) == seconds


@pytest.mark.parametrize("value", [True, 1.5, "0"], ids=["a bool", "a float", "a string"])
def test_only_integer_seconds_become_a_response_time(value: object) -> None:
    with pytest.raises(TypeError):
        as_datetime(value)  # type: ignore[call-overload]


def test_a_response_time_must_carry_its_zone() -> None:
    with pytest.raises(msgspec.ValidationError):
        msgspec.json.decode(b'{"at":"2025-03-03T11:06:40","until":null}', type=_Stamped)
