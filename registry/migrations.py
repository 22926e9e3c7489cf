"""Apply Piccolo migrations from code (the CLI and the tests use the same path)."""

from __future__ import annotations

import contextlib
import io

from piccolo.apps.migrations.commands.forwards import run_forwards

from registry.errors import RegistryError


class MigrationFailed(RegistryError):
    """A migration did not apply."""


async def upgrade() -> None:
    """Run every registry migration not yet applied; raise if one fails."""
    # Piccolo prints progress banners; the CLI reports the outcome itself.
    with contextlib.redirect_stdout(io.StringIO()):
        result = await run_forwards("registry")
    if not result.success:
        raise MigrationFailed(f"migration failed: {result.message}")
