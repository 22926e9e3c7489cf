"""Service health."""

from __future__ import annotations

import logging
from typing import Literal

from registry.db import is_postgres
from registry.tables import Organisation
from schemas.system import Health

log = logging.getLogger("registry.health")


async def health() -> Health:
    """Report whether a trivial query against the database succeeds right now."""
    engine: Literal["sqlite", "postgres"] = "postgres" if is_postgres() else "sqlite"
    try:
        await Organisation.raw("SELECT 1")
    except Exception:  # any failure to reach the database means "unreachable"
        log.exception("health check query failed")
        return Health(status="degraded", database="unreachable", engine=engine)
    return Health(status="ok", database="ok", engine=engine)
