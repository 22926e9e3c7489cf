"""Times as API responses write them: RFC 3339 UTC to the second, ``2026-11-30T05:23:26Z``.

Tests state the expected instant in integer seconds (as the registry stores it) and compare the
exact text, so a missing ``Z``, an offset or a fraction fails as surely as a wrong second.
"""

from __future__ import annotations

import datetime as dt
import re

_RFC3339_UTC = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")


def rfc3339(seconds: int) -> str:
    """The text a response carries for integer UTC seconds."""
    return dt.datetime.fromtimestamp(seconds, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def seconds(text: str) -> int:
    """Integer UTC seconds of a response's time, refusing anything but ``YYYY-MM-DDTHH:MM:SSZ``."""
    if not isinstance(text, str) or not _RFC3339_UTC.match(text):
        raise AssertionError(f"expected RFC 3339 UTC to the second, got {text!r}")
    return int(dt.datetime.strptime(text, "%Y-%m-%dT%H:%M:%S%z").timestamp())
