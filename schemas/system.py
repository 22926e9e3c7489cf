"""Liveness."""

from __future__ import annotations

from typing import Literal

from schemas.base import Response


class Health(Response, frozen=True):
    """The service is up; ``database`` says whether a query just succeeded."""

    status: Literal["ok", "degraded"]
    database: Literal["ok", "unreachable"]
    engine: Literal["sqlite", "postgres"]
