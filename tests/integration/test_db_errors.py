"""A unique-key clash is recognised by its error type on both engines, never by message text."""

from __future__ import annotations

import uuid

import pytest

from registry.db import is_unique_violation
from registry.tables import Organisation


async def test_a_duplicate_name_is_a_unique_violation(db: None) -> None:
    await Organisation.insert(
        Organisation(id=uuid.uuid4(), name="A", kind="supplier", created_at=1)
    )
    with pytest.raises(Exception) as raised:  # noqa: PT011 — the engine's own class is the point
        await Organisation.insert(
            Organisation(id=uuid.uuid4(), name="A", kind="supplier", created_at=1)
        )
    assert is_unique_violation(raised.value)


def test_other_errors_are_not() -> None:
    assert not is_unique_violation(ValueError("unique"))
    assert not is_unique_violation(RuntimeError("UNIQUE constraint failed"))
