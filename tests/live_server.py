"""A real registry server in a subprocess on 127.0.0.1, sharing the test database."""

from __future__ import annotations

import asyncio
import os
import socket
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import httpx


def free_port() -> int:
    """A port nothing listens on right now (on 127.0.0.1)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    """A started server: its base URL, and its stderr once stopped."""

    base: str
    stderr: bytes = field(default=b"")


async def _wait_ready(base: str, deadline: float) -> None:
    async with httpx.AsyncClient(base_url=base, timeout=2) as http:
        while time.monotonic() < deadline:
            try:
                if (await http.get("/health")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.2)
    raise TimeoutError("the server did not start within its deadline")


@asynccontextmanager
async def live_server(workers: int = 1) -> AsyncIterator[Server]:
    """Serve the app with uvicorn until the block ends (bounded start and stop)."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    # The log goes to a file, not a pipe: nobody reads a pipe while the server runs, and a
    # full one would stall it mid-test.
    with tempfile.TemporaryFile() as log:
        process = await asyncio.create_subprocess_exec(
            *[sys.executable, "-m", "registry.cli", "serve", "--port", str(port)],
            *["--workers", str(workers)],
            env={**os.environ, "REGISTRY_HOST": "127.0.0.1", "REGISTRY_BASE_URL": base},
            stdout=asyncio.subprocess.DEVNULL,
            stderr=log,
        )
        server = Server(base)
        try:
            await _wait_ready(base, time.monotonic() + 30)
            yield server
        finally:
            process.terminate()
            try:
                await asyncio.wait_for(process.wait(), timeout=20)
            except TimeoutError:
                process.kill()
                await process.wait()
            log.seek(0)
            server.stderr = log.read()
