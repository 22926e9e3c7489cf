"""Which kind of file an upload really is, judged from its bytes, never from its name.

Accepted: PDF, PNG, JPEG, JSON, CSV and plain text. Text must be valid UTF-8 without control
characters other than tab, CR and LF; it is CSV when the client called it CSV and every line
has the same number of commas, JSON when it parses as JSON, plain text otherwise.
"""

from __future__ import annotations

import csv
import io

import msgspec

PDF = "application/pdf"
PNG = "image/png"
JPEG = "image/jpeg"
JSON = "application/json"
CSV = "text/csv"
TEXT = "text/plain"
ACCEPTED = (PDF, PNG, JPEG, JSON, CSV, TEXT)

_MAGIC = (
    (b"%PDF-", PDF),  # ISO 32000-1 §7.5.2: the header line
    (b"\x89PNG\r\n\x1a\n", PNG),  # PNG signature, RFC 2083 §3.1
    (b"\xff\xd8\xff", JPEG),  # JPEG SOI marker followed by another marker
)
_ALLOWED_CONTROLS = {"\t", "\r", "\n"}


def _as_text(data: bytes) -> str | None:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    if any(ch < " " and ch not in _ALLOWED_CONTROLS for ch in text) or "\x7f" in text:
        return None
    return text


def _is_csv(text: str) -> bool:
    rows = list(csv.reader(io.StringIO(text)))
    widths = {len(row) for row in rows if row}
    return len(widths) == 1 and widths.pop() > 1


def sniff(data: bytes, *, declared: str = "") -> str | None:
    """The media type of ``data`` if it is one we accept, else None.

    ``declared`` (the client's filename or Content-Type) only chooses between CSV and plain text.
    """
    for magic, media_type in _MAGIC:
        if data.startswith(magic):
            return media_type
    if not data:
        return None
    text = _as_text(data)
    if text is None:
        return None
    try:
        msgspec.json.decode(data)
    except msgspec.DecodeError:
        pass
    else:
        if text.lstrip()[:1] in ("{", "["):
            return JSON
    declared = declared.lower()
    if (declared.endswith(".csv") or "csv" in declared) and _is_csv(text):
        return CSV
    return TEXT
