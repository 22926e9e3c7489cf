"""The registry's one clock: integer UTC seconds, as every stored time is."""

from __future__ import annotations

import time


def now() -> int:
    """Current UTC time in whole seconds (tests move it by replacing this function)."""
    return int(time.time())
