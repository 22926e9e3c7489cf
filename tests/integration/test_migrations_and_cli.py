"""Migrations apply to empty databases; the CLI bootstraps, issues tokens and verifies the chain."""

from __future__ import annotations

import asyncio
import os
import stat
import subprocess
import sys
import uuid
from pathlib import Path

import asyncpg
import pytest

REGISTRY = [sys.executable, "-m", "registry.cli"]
PG_URL = os.environ.get("REGISTRY_TEST_DATABASE_URL", "")


def _cli(
    data_dir: Path, *args: str, database_url: str | None = None
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("REGISTRY_")}
    env["REGISTRY_DATA_DIR"] = str(data_dir)
    if database_url:
        env["REGISTRY_DATABASE_URL"] = database_url
    return subprocess.run(
        [*REGISTRY, *args], env=env, capture_output=True, text=True, timeout=120, check=False
    )


EXPECTED_TABLES = {
    "organisation",
    "registry_user",
    "api_token",
    "audit_event",
    "audit_head",
    "idempotency_key",  # the newest migration's table
}


def test_migrations_apply_to_an_empty_sqlite_file(tmp_path: Path) -> None:
    import sqlite3

    result = _cli(tmp_path, "db", "upgrade")
    assert result.returncode == 0, result.stderr
    with sqlite3.connect(tmp_path / "registry.sqlite3") as connection:
        tables = {r[0] for r in connection.execute("SELECT name FROM sqlite_master")}
        journal = connection.execute("PRAGMA journal_mode").fetchone()[0]
    assert tables >= EXPECTED_TABLES
    assert journal == "wal"
    again = _cli(tmp_path, "db", "upgrade")
    assert again.returncode == 0, again.stderr


@pytest.mark.postgres_only
def test_migrations_apply_to_an_empty_postgres_database(tmp_path: Path) -> None:
    name = f"mkr_migrate_{uuid.uuid4().hex[:12]}"
    admin_url = PG_URL.rsplit("/", 1)[0] + "/postgres"

    async def admin(sql: str) -> None:
        connection = await asyncpg.connect(admin_url)
        try:
            await connection.execute(sql)
        finally:
            await connection.close()

    async def tables(url: str) -> set[str]:
        connection = await asyncpg.connect(url)
        try:
            rows = await connection.fetch(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
            )
        finally:
            await connection.close()
        return {r["tablename"] for r in rows}

    asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    try:
        url = PG_URL.rsplit("/", 1)[0] + f"/{name}"
        result = _cli(tmp_path, "db", "upgrade", database_url=url)
        assert result.returncode == 0, result.stderr
        assert asyncio.run(tables(url)) >= EXPECTED_TABLES
    finally:
        asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}"'))


@pytest.mark.slow
def test_bootstrap_writes_a_private_token_file_once(tmp_path: Path) -> None:
    assert _cli(tmp_path, "db", "upgrade").returncode == 0
    first = _cli(tmp_path, "admin", "bootstrap")
    assert first.returncode == 0, first.stderr
    token_file = tmp_path / "admin-token"
    token = token_file.read_text().strip()
    assert token.startswith("mkr_")
    assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
    assert token not in first.stdout + first.stderr, "the token itself must never be printed"
    second = _cli(tmp_path, "admin", "bootstrap")
    assert second.returncode == 0
    assert "already exists" in second.stdout
    assert token_file.read_text().strip() == token


@pytest.mark.slow
def test_token_create_and_audit_verify(tmp_path: Path) -> None:
    import sqlite3

    assert _cli(tmp_path, "db", "upgrade").returncode == 0
    assert _cli(tmp_path, "admin", "bootstrap").returncode == 0
    out = tmp_path / "second-token"
    created = _cli(
        tmp_path, "token", "create", "--email", "admin@registry.local", "--out", str(out)
    )
    assert created.returncode == 0, created.stderr
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    unknown = _cli(tmp_path, "token", "create", "--email", "nobody@example.org")
    assert unknown.returncode != 0
    assert "no user" in unknown.stderr

    intact = _cli(tmp_path, "audit", "verify")
    assert intact.returncode == 0, intact.stderr
    assert "intact" in intact.stdout

    with sqlite3.connect(tmp_path / "registry.sqlite3") as connection:
        connection.execute("UPDATE audit_event SET actor = 'mallory' WHERE position = 2")
    broken = _cli(tmp_path, "audit", "verify")
    assert broken.returncode == 1
    assert "position 2" in broken.stderr


@pytest.mark.parametrize(
    "command",
    [
        ["serve"],
        ["db", "upgrade"],
        ["admin", "bootstrap"],
        ["token", "create"],
        ["audit", "verify"],
    ],
)
def test_every_command_has_help(tmp_path: Path, command: list[str]) -> None:
    result = _cli(tmp_path, *command, "--help")
    assert result.returncode == 0
    assert "Usage:" in result.stdout


def test_earlier_approvals_get_an_issuance_state_on_upgrade(tmp_path: Path) -> None:
    """A database migrated before issuance states existed: its approved revisions become
    visible as pending (no certificate yet) or issued, and nothing else changes."""
    import sqlite3

    before_issuance = "2026-11-25T21:17:48:948530"
    env = {k: v for k, v in os.environ.items() if not k.startswith("REGISTRY_")}
    env["REGISTRY_DATA_DIR"] = str(tmp_path)
    script = (
        "import asyncio\n"
        "from piccolo.apps.migrations.commands.forwards import run_forwards\n"
        f"result = asyncio.run(run_forwards('registry', migration_id='{before_issuance}'))\n"
        "raise SystemExit(0 if result.success else 1)\n"
    )
    partial = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120
    )
    assert partial.returncode == 0, partial.stderr
    approved, draft = str(uuid.uuid4()), str(uuid.uuid4())
    organisation, product, dossier = (str(uuid.uuid4()) for _ in range(3))
    with sqlite3.connect(tmp_path / "registry.sqlite3") as connection:
        connection.execute(
            "INSERT INTO organisation (id, name, kind, created_at) VALUES (?, 'A', 'supplier', 1)",
            (organisation,),
        )
        connection.execute(
            "INSERT INTO product (id, organisation, name, intended_purpose, profile, created_at) "
            "VALUES (?, ?, 'P', 'Booking.', '{}', 1)",
            (product, organisation),
        )
        connection.execute(
            "INSERT INTO dossier (id, organisation, product, product_version, summary, "
            "criteria_set, current_revision, row_version, created_at, updated_at) "
            "VALUES (?, ?, ?, '1', '', 'tiny/1', 2, 1, 1, 1)",
            (dossier, organisation, product),
        )
        for revision, number, status in ((approved, 1, "approved"), (draft, 2, "draft")):
            connection.execute(
                "INSERT INTO revision (id, natural_key, dossier, number, status, created_at, "
                "decided_at) VALUES (?, ?, ?, ?, ?, 1700000000, 1700000100)",
                (revision, f"{dossier}:{number}", dossier, number, status),
            )
    upgraded = _cli(tmp_path, "db", "upgrade")
    assert upgraded.returncode == 0, upgraded.stderr
    with sqlite3.connect(tmp_path / "registry.sqlite3") as connection:
        rows = connection.execute(
            "SELECT revision, state, attempts, certificate_id, updated_at FROM issuance"
        ).fetchall()
    assert rows == [(approved, "pending", 0, None, 1700000100)]
