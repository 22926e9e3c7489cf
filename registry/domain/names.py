"""What a name people read may hold (organisations, users, products, token labels).

A name is shown to practices and reviewers as the registry's word, so it must read the same
everywhere: no bidirectional embedding, override or isolate controls (the "Trojan Source"
characters, which make text display in a different order from the one stored), and at least
one character that shows (a name made only of spaces, joiners, fillers or combining marks looks
blank). The schema's pattern already refuses control characters and plain blank strings; these
are the Unicode cases a pattern cannot state readably.
"""

from __future__ import annotations

import unicodedata

from registry.errors import InvalidInput

# LRE, RLE, PDF, LRO, RLO (U+202A–U+202E) and LRI, RLI, FSI, PDI (U+2066–U+2069).
BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
# Letters by category that render as nothing: Hangul fillers and the blank braille pattern.
_BLANK_LETTERS = frozenset("\u115f\u1160\u3164\uffa0\u2800")
# Format characters, separators and marks that cannot stand alone.
_INVISIBLE_CATEGORIES = frozenset({"Cc", "Cf", "Zs", "Zl", "Zp", "Mn", "Me"})


def _shows(char: str) -> bool:
    return char not in _BLANK_LETTERS and unicodedata.category(char) not in _INVISIBLE_CATEGORIES


def check_name(value: str, field: str) -> None:
    """Refuse a name with bidirectional controls, or one in which no character shows."""
    if controls := sorted({f"U+{ord(c):04X}" for c in value if c in BIDI_CONTROLS}):
        raise InvalidInput(
            f"{field} holds bidirectional control characters ({', '.join(controls)}), which"
            " make a name display in a different order from the one stored; remove them",
            field=field,
        )
    if any(unicodedata.category(c) == "Cc" for c in value):
        # The schema's pattern already refuses these, all but one: Python's "$" also matches
        # before a final newline, so "Sam\n" passes it (JSON Schema's reading refuses it).
        raise InvalidInput(f"{field} must be on one line, without control characters", field=field)
    if not any(_shows(c) for c in value):
        raise InvalidInput(
            f"{field} has no visible character: type the name in letters or digits",
            field=field,
        )
