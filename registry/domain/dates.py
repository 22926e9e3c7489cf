"""Times as the registry stores them (integer UTC seconds) and the words people read for them.

One home for the day length and the date formats, so that a certificate, a page, an API
explanation and a report say the same date the same way: ``3 March 2025`` (unambiguous in
England and independent of the process locale), and ``2025-03-03 14:05 UTC`` where the time of
day matters. API responses carry times as aware UTC datetimes (``as_datetime``), which msgspec
writes as RFC 3339 ``2025-03-03T14:05:09Z``; signed and hashed documents keep integer seconds.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import overload

DAY = 86_400

_MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)


def as_date(value: date | int) -> date:
    """A ``date`` as given, or the UTC date of integer Unix seconds (canonical times are ints)."""
    if isinstance(value, bool):
        raise TypeError(f"expected a date or integer UTC seconds, got {value!r}")
    if isinstance(value, datetime):
        return value.astimezone(UTC).date() if value.tzinfo else value.date()
    if isinstance(value, date):
        return value
    return datetime.fromtimestamp(value, UTC).date()


@overload
def as_datetime(seconds: int) -> datetime: ...
@overload
def as_datetime(seconds: int | None) -> datetime | None: ...
def as_datetime(seconds: int | None) -> datetime | None:
    """The aware UTC ``datetime`` of integer Unix seconds (``None`` stays ``None``): what API
    responses carry, written as RFC 3339 ``2025-03-03T14:05:09Z``."""
    if seconds is None:
        return None
    if isinstance(seconds, bool) or not isinstance(seconds, int):
        raise TypeError(f"expected integer UTC seconds, got {seconds!r}")
    return datetime.fromtimestamp(seconds, UTC)


def calendar_date(text: str | None) -> date | None:
    """A stored ``YYYY-MM-DD`` as a ``date`` (``None`` stays ``None``): what responses carry."""
    return None if text is None else date.fromisoformat(text)


def long_date(value: date | int) -> str:
    """``3 March 2025``."""
    day = as_date(value)
    return f"{day.day} {_MONTHS[day.month - 1]} {day.year}"


def moment(seconds: int) -> str:
    """``2025-03-03 14:05 UTC``: a point in time, to the minute."""
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%d %H:%M UTC")


def working_days(start: date, end: date) -> int:
    """Mondays to Fridays after ``start`` up to and including ``end`` (0 when end <= start)."""
    if end <= start:
        return 0
    days = (end - start).days
    weeks, rest = divmod(days, 7)
    count = weeks * 5
    for offset in range(1, rest + 1):
        if (start + timedelta(days=weeks * 7 + offset)).weekday() < 5:
            count += 1
    return count
