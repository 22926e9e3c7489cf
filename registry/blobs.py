"""Content-addressed blob storage: evidence files and certificate PDFs, named by their SHA-256.

``BlobStore`` is the whole interface; ``blob_store()`` is the one configured for this process:
files under the data directory by default, an S3-compatible bucket when ``REGISTRY_BLOB_URL`` is
``s3://bucket/prefix``. Every method is async and never blocks the event loop: the file store
hashes, writes, fsyncs and reads in a worker thread, the S3 store speaks HTTP asynchronously.

A blob is never seen half-written: the file store writes a temporary ``.incoming-*`` file and
renames it into place, an S3 PUT is atomic. Storing bytes that are already stored refreshes their
time, so a sweep of unreferenced blobs (which spares young ones) never takes one from under a new
upload that is about to commit.
"""

from __future__ import annotations

import asyncio
import base64
import functools
import hashlib
import os
import re
import tempfile
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

import anyio.to_thread
from aiobotocore.session import get_session  # type: ignore[import-untyped]
from botocore.config import Config  # type: ignore[import-untyped]
from botocore.exceptions import ClientError  # type: ignore[import-untyped]

from registry.settings import Settings, get_settings

_DIGEST = re.compile(r"^[0-9a-f]{64}$")
# What the file store names a blob while it is being written; a crash can leave one behind.
INCOMING_PREFIX = ".incoming-"


class BlobStore(Protocol):
    """Where blob bytes live, addressed by the hex SHA-256 of their content."""

    async def put(self, data: bytes) -> str:
        """Store ``data`` (idempotently, refreshing its stored time) and return its digest."""
        ...

    async def get(self, digest: str) -> bytes:
        """The bytes stored under ``digest``; KeyError when absent."""
        ...

    async def exists(self, digest: str) -> bool:
        """True when ``digest`` is stored."""
        ...

    async def delete(self, digest: str) -> None:
        """Remove a blob (sweeping unreferenced ones); absent is fine."""
        ...

    def entries(self) -> AsyncIterator[tuple[str, float]]:
        """Every stored digest with the time (epoch seconds) it was last stored."""
        ...

    async def remove_incomplete(self, cutoff: float) -> list[str]:
        """Remove writes a crash left unfinished, last touched at or before ``cutoff``."""
        ...

    async def aclose(self) -> None:
        """Release connections (the store may be used again afterwards)."""
        ...


def _check(digest: str) -> str:
    # Only our own hex digests ever become paths or keys: never a client's filename.
    if not _DIGEST.fullmatch(digest):
        raise KeyError(digest)
    return digest


class FileBlobStore:
    """Blobs as files ``root/ab/abcdef…`` on a local or shared file system."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, digest: str) -> Path:
        return self.root / digest[:2] / _check(digest)

    async def put(self, data: bytes) -> str:
        """Store ``data`` under its SHA-256: temporary file, fsync, then rename into place."""
        return await anyio.to_thread.run_sync(self._put, data)

    def _put(self, data: bytes) -> str:
        digest = hashlib.sha256(data).hexdigest()
        path = self._path(digest)
        try:
            # Storing it again counts as fresh: a sweep must not take it from under a new upload.
            os.utime(path)
        except FileNotFoundError:
            pass
        else:
            return digest
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=INCOMING_PREFIX)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        _fsync_directory(path.parent)
        return digest

    async def get(self, digest: str) -> bytes:
        """Read a blob; KeyError when it is not stored."""
        path = self._path(digest)
        try:
            return await anyio.to_thread.run_sync(path.read_bytes)
        except FileNotFoundError:
            raise KeyError(digest) from None

    async def exists(self, digest: str) -> bool:
        """True when the blob file is present."""
        try:
            path = self._path(digest)
        except KeyError:
            return False
        return await anyio.to_thread.run_sync(path.is_file)

    async def delete(self, digest: str) -> None:
        """Remove a blob file if present."""
        path = self._path(digest)
        await anyio.to_thread.run_sync(functools.partial(path.unlink, missing_ok=True))

    async def entries(self) -> AsyncIterator[tuple[str, float]]:
        """Every blob file's digest and modification time (temporary files are skipped)."""
        for entry in await anyio.to_thread.run_sync(self._entries):
            yield entry

    def _entries(self) -> list[tuple[str, float]]:
        found: list[tuple[str, float]] = []
        if not self.root.is_dir():
            return found
        for path in self.root.glob("??/*"):
            if _DIGEST.fullmatch(path.name):
                try:
                    found.append((path.name, path.stat().st_mtime))
                except FileNotFoundError:  # deleted while we looked
                    continue
        return found

    async def remove_incomplete(self, cutoff: float) -> list[str]:
        """Delete ``.incoming-*`` files a crashed writer left, untouched since ``cutoff``."""
        return await anyio.to_thread.run_sync(self._remove_incomplete, cutoff)

    def _remove_incomplete(self, cutoff: float) -> list[str]:
        removed: list[str] = []
        if not self.root.is_dir():
            return removed
        for path in self.root.glob(f"??/{INCOMING_PREFIX}*"):
            try:
                if path.stat().st_mtime > cutoff:
                    continue  # possibly still being written
                path.unlink()
            except FileNotFoundError:  # renamed into place or removed meanwhile
                continue
            removed.append(f"{path.parent.name}/{path.name}")
        return removed

    async def aclose(self) -> None:
        """Nothing to release."""


def _fsync_directory(directory: Path) -> None:
    # The rename is durable only once the directory entry is on disk too.
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


@dataclass(frozen=True, slots=True)
class _Connection:
    """One S3 client, opened on (and only usable from) one event loop."""

    loop: asyncio.AbstractEventLoop
    opening: asyncio.Task[tuple[Any, AsyncExitStack]]


class S3BlobStore:
    """Blobs as objects ``{prefix}/{sha256}`` in a bucket of an S3-compatible object store.

    The client (and its pool of HTTP connections) is opened on first use and reused; ``aclose``
    releases it. A client belongs to the event loop that opened it, so a store used from another
    loop (a CLI command's ``asyncio.run``) opens its own there.
    """

    def __init__(
        self,
        bucket: str,
        prefix: str = "",
        *,
        endpoint_url: str | None = None,
        region: str = "us-east-1",
        access_key_id: str | None = None,
        secret_access_key: str | None = None,
    ) -> None:
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self._client_options: dict[str, Any] = {
            "region_name": region,
            "endpoint_url": endpoint_url,
            # None for both means botocore's usual chain: environment, profile, instance role.
            "aws_access_key_id": access_key_id,
            "aws_secret_access_key": secret_access_key,
            "config": Config(
                # Other S3 implementations serve buckets by path, not by DNS name.
                s3={"addressing_style": "path"} if endpoint_url else {},
                retries={"mode": "standard", "max_attempts": 4},
                connect_timeout=10,
                read_timeout=120,
            ),
        }
        self._connection: _Connection | None = None

    def _key(self, digest: str) -> str:
        _check(digest)
        return f"{self.prefix}/{digest}" if self.prefix else digest

    async def _open(self) -> tuple[Any, AsyncExitStack]:
        stack = AsyncExitStack()
        client = await stack.enter_async_context(
            get_session().create_client("s3", **self._client_options)
        )
        return client, stack

    async def _client(self) -> Any:
        loop = asyncio.get_running_loop()
        connection = self._connection
        if connection is None or connection.loop is not loop:
            # Every caller on this loop waits for the same opening: one client, not one each.
            connection = _Connection(loop, loop.create_task(self._open()))
            self._connection = connection
        try:
            client, _ = await asyncio.shield(connection.opening)
        except Exception:
            if self._connection is connection:
                self._connection = None  # the next call tries again
            raise
        return client

    async def put(self, data: bytes) -> str:
        """PUT the bytes under their digest; the store checks them against the SHA-256 we send.

        Storing the same bytes again rewrites the object, which refreshes its LastModified time.
        """
        raw = await anyio.to_thread.run_sync(_sha256, data)
        digest = raw.hex()
        client = await self._client()
        await client.put_object(
            Bucket=self.bucket,
            Key=self._key(digest),
            Body=data,
            ContentType="application/octet-stream",
            ChecksumSHA256=base64.b64encode(raw).decode(),
        )
        return digest

    async def get(self, digest: str) -> bytes:
        """Read an object; KeyError when it is not stored."""
        key = self._key(digest)
        client = await self._client()
        try:
            response = await client.get_object(Bucket=self.bucket, Key=key)
        except ClientError as e:
            if _missing(e):
                raise KeyError(digest) from None
            raise
        async with response["Body"] as body:
            data: bytes = await body.read()
        return data

    async def exists(self, digest: str) -> bool:
        """True when the object is present (a HEAD request)."""
        try:
            key = self._key(digest)
        except KeyError:
            return False
        client = await self._client()
        try:
            await client.head_object(Bucket=self.bucket, Key=key)
        except ClientError as e:
            if _missing(e):
                return False
            raise
        return True

    async def delete(self, digest: str) -> None:
        """Delete an object; deleting an absent key succeeds in S3."""
        key = self._key(digest)
        client = await self._client()
        await client.delete_object(Bucket=self.bucket, Key=key)

    async def entries(self) -> AsyncIterator[tuple[str, float]]:
        """Every object under the prefix named by a digest, with its LastModified time."""
        client = await self._client()
        start = f"{self.prefix}/" if self.prefix else ""
        pages = client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=start)
        async for page in pages:
            for item in page.get("Contents", []):
                name = item["Key"][len(start) :]
                if _DIGEST.fullmatch(name):
                    yield name, item["LastModified"].timestamp()

    async def remove_incomplete(self, cutoff: float) -> list[str]:
        """Nothing to remove: a single-request PUT is stored whole or not at all."""
        return []

    async def aclose(self) -> None:
        """Close the client opened on this loop (one opened on another loop is dropped)."""
        connection, self._connection = self._connection, None
        if connection is None:
            return
        if connection.loop is not asyncio.get_running_loop():
            return
        try:
            _, stack = await connection.opening
        except Exception:
            return  # it never opened
        await stack.aclose()


def _missing(error: Any) -> bool:
    code = str(error.response.get("Error", {}).get("Code", ""))
    return code in {"404", "NoSuchKey", "NotFound"}


def make_blob_store(settings: Settings) -> BlobStore:
    """The blob store ``settings`` choose: S3 for an ``s3://bucket/prefix`` URL, else files."""
    if not settings.blob_url:
        return FileBlobStore(settings.blob_dir)
    url = urlsplit(settings.blob_url)
    if url.scheme != "s3" or not url.netloc:
        raise ValueError(f"REGISTRY_BLOB_URL must look like s3://bucket/prefix, got {url.scheme}:")
    return S3BlobStore(
        url.netloc,
        url.path,
        endpoint_url=settings.s3_endpoint_url,
        region=settings.s3_region,
        access_key_id=settings.s3_access_key_id,
        secret_access_key=settings.s3_secret_access_key,
    )


@functools.cache
def blob_store() -> BlobStore:
    """The configured blob store, one per process (so the S3 client and its pool are shared)."""
    return make_blob_store(get_settings())


async def close_blob_store() -> None:
    """Release the process's blob store connections, if it was ever opened (app shutdown, CLI)."""
    if blob_store.cache_info().currsize:
        await blob_store().aclose()
