"""The README's shell walkthrough runs as written, end to end, against a real server.

The block is the one fenced as ```` ```sh walkthrough ```` in README.md. It runs with bash, as a
reader runs it after ``make run``: a server with the admin token under its data directory, keys,
and kitemark-core/1 published; ``REGISTRY_BASE_URL`` and ``REGISTRY_DATA_DIR`` point at it.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
from pathlib import Path

import pytest

from registry.cli import write_secret_file
from registry.services.audit import SYSTEM
from registry.services.criteria import builtin_document, publish
from registry.services.identity import bootstrap_admin
from registry.settings import get_settings
from tests.live_server import live_server

README = Path(__file__).resolve().parents[2] / "README.md"
# The opening fence with its info string, the block, the closing fence: the whole block, exactly.
BLOCK = re.compile(r"^```sh walkthrough\n(.*?)^```$", re.MULTILINE | re.DOTALL)


def walkthrough_block() -> str:
    """The one ```sh walkthrough block of README.md."""
    blocks = BLOCK.findall(README.read_text(encoding="utf-8"))
    assert len(blocks) == 1, f"expected one ```sh walkthrough block in README, found {len(blocks)}"
    return str(blocks[0])


def test_the_walkthrough_block_is_strict_and_defines_its_server_from_the_environment() -> None:
    block = walkthrough_block()
    assert block.startswith("set -euo pipefail\n")
    assert "BASE=${REGISTRY_BASE_URL:-http://127.0.0.1:8000}" in block
    assert '"${REGISTRY_DATA_DIR:-var}/admin-token"' in block
    # Every curl either fails on an HTTP error or goes through the helper that does.
    for line in block.splitlines():
        if re.search(r"\bcurl\b", line) and not line.lstrip().startswith("#"):
            assert "--fail-with-body" in line or "-fsS" in line, line


@pytest.mark.slow
@pytest.mark.skipif(
    not (shutil.which("bash") and shutil.which("jq") and shutil.which("curl")),
    reason="the walkthrough needs bash, curl and jq (system-packages.txt)",
)
async def test_the_readme_walkthrough_runs_to_a_suspended_certificate(
    db: None, signing: None, tmp_path: Path
) -> None:
    # What `make run` does before serving: keys (the signing fixture), the criteria, the admin.
    await publish(SYSTEM, builtin_document())
    admin = await bootstrap_admin("admin@registry.local", "Registry administrator")
    assert admin is not None
    settings = get_settings()
    write_secret_file(settings.admin_token_path, admin.token)
    script = tmp_path / "walkthrough.sh"
    script.write_text(walkthrough_block(), encoding="utf-8")
    async with live_server() as server:
        env = {
            **os.environ,
            "REGISTRY_BASE_URL": server.base,
            "REGISTRY_DATA_DIR": str(settings.data_dir),
            "TMPDIR": str(tmp_path),  # where the block's mktemp puts its files
        }
        process = await asyncio.create_subprocess_exec(
            "bash",
            str(script),
            cwd=tmp_path,
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await asyncio.wait_for(process.communicate(), timeout=180)
    text, errors = out.decode(), err.decode()
    assert process.returncode == 0, errors + text
    assert errors == "", errors  # nothing but the walkthrough's own lines
    assert re.search(r"^4\. (\d+) of \1 answered, with evidence; complete: true$", text, re.M)
    assert "Approved: certificate MKR-" in text
    assert "8. verified by ID: good_to_go, by PDF: good_to_go, by statement: good_to_go" in text
    assert "9. admin: certificate suspended (safety_concern)" in text
    assert "verified by ID: not_good_to_go — Not good to go: suspended." in text
    assert "chain intact: true" in text
    # The PDF the block saved is the signed certificate.
    saved = re.search(r"PDF saved as (\S+)", text)
    assert saved is not None
    pdf = await asyncio.to_thread(Path(saved.group(1)).read_bytes)
    assert pdf.startswith(b"%PDF-")
