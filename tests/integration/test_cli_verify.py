"""The CLI verifies as the API does (online), and offline with a fresh or stale trust bundle."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from registry.tables import Certificate
from tests.live_server import live_server
from tests.times import seconds
from tests.tiny_set import approve_tiny, publish_tiny
from tests.world import World

pytestmark = pytest.mark.usefixtures("signing")


async def cli(*args: str) -> tuple[int, str, str]:
    """Run the ``registry`` command; returns exit status, stdout and stderr."""
    process = await asyncio.create_subprocess_exec(
        *[sys.executable, "-m", "registry.cli", *args],
        env=dict(os.environ),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=120)
    return process.returncode or 0, out.decode(), err.decode()


async def _set_status(client: httpx.AsyncClient, world: World, cid: str, action: str) -> None:
    response = await client.post(
        f"/v1/certificates/{cid}/status",
        json={"action": action, "reason": "evidence_lapsed", "note": "Pen test lapsed."},
        headers=world.admin.headers,
    )
    assert response.status_code == 200, response.text


@dataclass(frozen=True)
class Scenario:
    name: str
    actions: tuple[str, ...]
    verdict: str
    headline: str
    page_says: str  # what the /v/{id} page shows under its verdict


SCENARIOS = [
    Scenario("valid", (), "good_to_go", "Good to go", "holds today"),
    Scenario("suspended", ("suspend",), "not_good_to_go", "Not good to go: suspended", "Suspended"),
    Scenario(
        "valid again after reinstatement",
        ("suspend", "reinstate"),
        "good_to_go",
        "Good to go",
        "holds today",
    ),
    Scenario("revoked", ("revoke",), "not_good_to_go", "Not good to go: revoked", "Revoked"),
    Scenario(
        "superseded",
        ("supersede",),
        "not_good_to_go",
        "Not good to go: replaced by a newer certificate",
        "Replaced by a newer certificate",
    ),
    Scenario("expired", ("expire",), "not_good_to_go", "Not good to go: expired", "Expired"),
]


@pytest.mark.slow
async def test_every_status_reads_the_same_in_the_api_the_page_and_the_cli(
    client: httpx.AsyncClient, world: World
) -> None:
    await publish_tiny()
    prepared: dict[str, str] = {}
    for scenario in SCENARIOS:
        cid = await approve_tiny(client, world, name=f"Product {scenario.name}")
        for action in scenario.actions:
            if action == "supersede":
                cid_new = await approve_tiny(client, world, name="Successor")
                await Certificate.update({Certificate.product: (await _product_of(cid_new))}).where(
                    Certificate.certificate_id == cid
                )
                from registry.records import CertificateRecord, fetch_one
                from registry.services.audit import SYSTEM
                from registry.services.issuance import _supersede_earlier

                row = await fetch_one(
                    Certificate.select().where(Certificate.certificate_id == cid_new),
                    CertificateRecord,
                )
                assert row is not None
                await _supersede_earlier(row, SYSTEM)
            elif action == "expire":
                await Certificate.update({Certificate.valid_until: int(time.time()) - 60}).where(
                    Certificate.certificate_id == cid
                )
            else:
                await _set_status(client, world, cid, action)
        prepared[scenario.name] = cid
    async with live_server() as server:
        for scenario in SCENARIOS:
            cid = prepared[scenario.name]
            api = (await client.get(f"/v1/verify/{cid}")).json()
            code, out, err = await cli("verify", cid, "--server", server.base, "--json")
            shown = json.loads(out)
            assert (api["verdict"], api["headline"]) == (scenario.verdict, scenario.headline), (
                scenario
            )
            assert (shown["verdict"], shown["headline"]) == (api["verdict"], api["headline"]), (
                scenario
            )
            assert [c["outcome"] for c in shown["checks"]] == [c["outcome"] for c in api["checks"]]
            for t in ("issued_at", "valid_until"):
                assert shown["certificate"][t] == api["certificate"][t], (scenario, t)
            assert seconds(shown["checked_at"]) >= seconds(api["checked_at"])
            assert code == (0 if scenario.verdict == "good_to_go" else 1), err
            code, text, _ = await cli("verify", cid, "--server", server.base)
            assert scenario.headline.upper() in text
            page = (await client.get(f"/v/{cid}")).text
            verdict_words = "Good to go" if scenario.verdict == "good_to_go" else "Not good to go"
            assert verdict_words in page, scenario
            assert scenario.page_says in page, scenario


async def _product_of(cid: str) -> Any:
    row = (
        await Certificate.select(Certificate.product)
        .where(Certificate.certificate_id == cid)
        .first()
    )
    assert row is not None
    return row["product"]


@pytest.mark.slow
async def test_offline_with_a_fresh_and_a_stale_bundle(
    client: httpx.AsyncClient, world: World, tmp_path: Path
) -> None:
    await publish_tiny()
    cid = await approve_tiny(client, world)
    token = (await client.get(f"/v1/certificates/{cid}/statement")).text
    pdf_path = tmp_path / "certificate.pdf"
    pdf_path.write_bytes((await client.get(f"/v1/certificates/{cid}/pdf")).content)
    record = (await client.get(f"/v1/certificates/{cid}")).json()
    bundle = tmp_path / "trust.json"
    async with live_server() as server:
        code, out, err = await cli("trust", "fetch", "--server", server.base, "--out", str(bundle))
        assert code == 0, err
        qr_text = f"{server.base}/v/{cid}#{token}"
    # The server is gone: everything below is offline.
    for subject in (qr_text, token, str(pdf_path)):
        code, out, err = await cli("verify", subject, "--offline", "--trust", str(bundle), "--json")
        assert out, err
        answer = json.loads(out)
        assert answer["verdict"] == "good_to_go", (subject[:40], answer)
        assert answer["mode"] == "offline"
        # The signed claims' times, written as the online answer writes the registry's record.
        times = ("issued_at", "valid_until")
        assert [answer["certificate"][t] for t in times] == [record[t] for t in times]
        assert abs(seconds(answer["checked_at"]) - time.time()) < 120
        statuses = {c["name"]: c["outcome"] for c in answer["checks"]}
        assert statuses["registered"] == statuses["status"] == "not_checked"
        assert code == 0
    code, text, _ = await cli("verify", qr_text, "--offline", "--trust", str(bundle))
    assert "live status was NOT checked" in text
    # A stale bundle cannot stand in for the live checks.
    saved = json.loads(bundle.read_text())
    saved["fetched_at"] -= 30 * 86_400
    stale = tmp_path / "stale.json"
    stale.write_text(json.dumps(saved))
    code, out, _ = await cli("verify", qr_text, "--offline", "--trust", str(stale), "--json")
    assert json.loads(out)["verdict"] == "unknown"
    assert "fetch a fresh one" in json.loads(out)["advice"]
    assert code == 2
    # A tampered bundle is refused outright.
    saved = json.loads(bundle.read_text())
    saved["signed"] = saved["signed"][:-4] + "AAAA"
    forged = tmp_path / "forged.json"
    forged.write_text(json.dumps(saved))
    code, _, err = await cli("verify", qr_text, "--offline", "--trust", str(forged))
    assert code != 0
    assert "bundle" in err or "verify" in err


@pytest.mark.slow
async def test_offline_a_revoked_key_is_never_good_to_go(
    client: httpx.AsyncClient, world: World, tmp_path: Path
) -> None:
    from registry.services import keys
    from registry.services.audit import SYSTEM

    await publish_tiny()
    cid = await approve_tiny(client, world)
    token = (await client.get(f"/v1/certificates/{cid}/statement")).text
    kid = (await client.get(f"/v1/certificates/{cid}")).json()["kid"]
    await keys.revoke(SYSTEM, kid, int(time.time()))
    bundle = tmp_path / "trust.json"
    async with live_server() as server:
        assert (await cli("trust", "fetch", "--server", server.base, "--out", str(bundle)))[0] == 0
    code, out, _ = await cli("verify", token, "--offline", "--trust", str(bundle), "--json")
    assert json.loads(out)["verdict"] == "unknown"
    assert code == 2


@pytest.mark.skipif(shutil.which("pdfsig") is None, reason="poppler-utils (pdfsig) not installed")
async def test_pdfsig_agrees_on_the_tamper_corpus(
    client: httpx.AsyncClient, world: World, tmp_path: Path
) -> None:
    await publish_tiny()
    cid = await approve_tiny(client, world)
    pdf = (await client.get(f"/v1/certificates/{cid}/pdf")).content
    cases = {"genuine": (pdf, True), "appended": (pdf + b"\n%%EOF\n% more\n", False)}
    for name, (data, whole) in cases.items():
        path = tmp_path / f"{name}.pdf"
        path.write_bytes(data)
        process = await asyncio.create_subprocess_exec(
            "pdfsig", str(path), stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
        )
        out, _ = await asyncio.wait_for(process.communicate(), timeout=60)
        says_whole = "Total document signed" in out.decode()
        ours = (
            await client.post("/v1/verify/pdf", files={"file": ("c.pdf", data, "application/pdf")})
        ).json()
        unmodified = next(c for c in ours["checks"] if c["name"] == "document_unmodified")
        assert says_whole is whole, (name, out.decode())
        assert (unmodified["outcome"] == "passed") is whole, name


async def test_an_unreachable_server_exits_3_not_a_verdict(tmp_path: Path) -> None:
    from tests.live_server import free_port

    nobody = f"http://127.0.0.1:{free_port()}"
    code, _, err = await cli("verify", "MKR-7Q4K-9X2M-G", "--server", nobody)
    assert code == 3, err
    assert f"could not reach {nobody}" in err
    code, _, err = await cli("trust", "fetch", "--server", nobody, "--out", str(tmp_path / "t"))
    assert code == 3, err
    assert "Traceback" not in err


async def test_the_command_says_its_version() -> None:
    from importlib.metadata import version

    code, out, _ = await cli("--version")
    assert code == 0
    assert out.strip() == f"registry, version {version('kitemark-registry')}"
