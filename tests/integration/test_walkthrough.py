"""The README's walkthrough script runs end to end against a real server."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import pytest

from registry.domain.identity import Role
from registry.services.audit import SYSTEM
from registry.services.criteria import builtin_document, publish
from tests.live_server import live_server
from tests.world import make_person

SCRIPT = Path(__file__).resolve().parents[2] / "examples" / "walkthrough.py"

pytestmark = pytest.mark.usefixtures("signing")


@pytest.mark.slow
async def test_walkthrough_script(db: None, tmp_path: Path) -> None:
    await publish(SYSTEM, builtin_document())
    admin = await make_person("walkthrough-admin@test.example", Role.admin, None)
    token_file = tmp_path / "admin-token"
    token_file.write_text(admin.token)
    async with live_server() as server:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            str(SCRIPT),
            "--server",
            server.base,
            "--admin-token-file",
            str(token_file),
            env=dict(os.environ),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await asyncio.wait_for(process.communicate(), timeout=180)
    text = out.decode()
    assert process.returncode == 0, err.decode() + text
    assert "verified by ID: good_to_go, by statement: good_to_go, by PDF: good_to_go" in text


async def test_the_walkthrough_finds_the_token_under_the_data_dir_or_says_where_it_looked(
    tmp_path: Path,
) -> None:
    env = {**os.environ, "REGISTRY_DATA_DIR": str(tmp_path / "elsewhere")}
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        str(SCRIPT),
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    _, err = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode == 1
    message = err.decode()
    assert f"no admin token at {tmp_path / 'elsewhere' / 'admin-token'}" in message
    assert "Traceback" not in message
