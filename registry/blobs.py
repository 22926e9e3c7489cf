"""Content-addressed blob storage: evidence files and certificate PDFs, named by their SHA-256.

``BlobStore`` is the whole interface, so an object store can replace the file system one. A blob is
written under a temporary name and renamed into place, so a reader never sees half a file.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Protocol

_DIGEST = re.compile(r"^[0-9a-f]{64}$")


class BlobStore(Protocol):
    """Where blob bytes live, addressed by the hex SHA-256 of their content."""

    def put(self, data: bytes) -> str:
        """Store ``data`` (idempotently) and return its digest."""
        ...

    def get(self, digest: str) -> bytes:
        """The bytes stored under ``digest``; KeyError when absent."""
        ...

    def exists(self, digest: str) -> bool:
        """True when ``digest`` is stored."""
        ...

    def delete(self, digest: str) -> None:
        """Remove a blob (sweeping unreferenced ones); absent is fine."""
        ...

    def entries(self) -> Iterator[tuple[str, float]]:
        """Every stored digest with the time (epoch seconds) it was stored."""
        ...


class FileBlobStore:
    """Blobs as files ``root/ab/abcdef…`` on a local or shared file system."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, digest: str) -> Path:
        # Only our own hex digests ever become paths: never a client's filename.
        if not _DIGEST.fullmatch(digest):
            raise KeyError(digest)
        return self.root / digest[:2] / digest

    def put(self, data: bytes) -> str:
        """Store ``data`` under its SHA-256: temporary file, fsync, then rename into place."""
        digest = hashlib.sha256(data).hexdigest()
        path = self._path(digest)
        if path.exists():
            # Storing it again counts as fresh: a sweep must not take it from under a new upload.
            os.utime(path)
            return digest
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=".incoming-")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        return digest

    def get(self, digest: str) -> bytes:
        """Read a blob; KeyError when it is not stored."""
        try:
            return self._path(digest).read_bytes()
        except FileNotFoundError:
            raise KeyError(digest) from None

    def exists(self, digest: str) -> bool:
        """True when the blob file is present."""
        try:
            return self._path(digest).is_file()
        except KeyError:
            return False

    def delete(self, digest: str) -> None:
        """Remove a blob file if present."""
        self._path(digest).unlink(missing_ok=True)

    def entries(self) -> Iterator[tuple[str, float]]:
        """Every blob file's digest and modification time (temporary files are skipped)."""
        if not self.root.is_dir():
            return
        for path in self.root.glob("??/*"):
            if _DIGEST.fullmatch(path.name):
                yield path.name, path.stat().st_mtime
