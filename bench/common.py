"""What every benchmark shares: a fresh environment, a seeded registry, figures and the verdict.

A benchmark builds its own world and leaves nothing behind: a temporary data directory (SQLite
by default) or, with ``--postgres URL``, a database of its own on that server, created here and
dropped at the end (as tests/conftest.py does). The environment is set before any registry
module is imported, because the settings and the Piccolo engine are read once per process — so
registry imports in this package live inside functions.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import shutil
import statistics
import sys
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import httpx

    from tests.world import World

REPO_ROOT = Path(__file__).resolve().parent.parent
BASE_URL = "https://kitemark.example"
# The load generator makes all its public requests from one address (127.0.0.1).
RAISED_RATE_PER_MINUTE = 100_000_000


@dataclass(frozen=True)
class Environment:
    """Where this run's registry lives."""

    engine: str  # "sqlite" | "postgresql"
    data_dir: Path
    database: str | None  # the PostgreSQL database made for this run

    def describe(self) -> str:
        """One line for the configuration block."""
        if self.database:
            return f"PostgreSQL (database {self.database}, created and dropped by this run)"
        return f"SQLite (WAL) in {self.data_dir}"


def argument_parser(description: str) -> argparse.ArgumentParser:
    """A parser with the options every benchmark takes."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument(
        "--postgres",
        metavar="URL",
        help="run against PostgreSQL: a server URL such as "
        "postgresql://postgres@127.0.0.1:5432/test (a fresh database is made and dropped)",
    )
    return parser


def _postgres_admin(url: str, sql: str) -> None:
    import asyncpg

    async def run() -> None:
        connection = await asyncpg.connect(url, timeout=10)
        try:
            await connection.execute(sql)
        finally:
            await connection.close()

    asyncio.run(run())


@contextlib.contextmanager
def environment(postgres_url: str | None) -> Iterator[Environment]:
    """Set the registry's environment for this process (and any server it starts); clean up."""
    data_dir = Path(tempfile.mkdtemp(prefix="registry-bench-"))
    os.environ["REGISTRY_DATA_DIR"] = str(data_dir)
    os.environ["REGISTRY_BASE_URL"] = BASE_URL
    os.environ["REGISTRY_PUBLIC_RATE_PER_MINUTE"] = str(RAISED_RATE_PER_MINUTE)
    # The load generator's address is exempt from the per-address limit (it stays on for others).
    os.environ["REGISTRY_RATE_LIMIT_EXEMPT"] = "127.0.0.1"
    database = None
    if postgres_url:
        database = f"mkr_bench_{os.getpid()}_{uuid.uuid4().hex[:8]}"
        _postgres_admin(postgres_url, f'CREATE DATABASE "{database}"')
        os.environ["REGISTRY_DATABASE_URL"] = postgres_url.rsplit("/", 1)[0] + f"/{database}"
    else:
        os.environ.pop("REGISTRY_DATABASE_URL", None)
    try:
        yield Environment("postgresql" if database else "sqlite", data_dir, database)
    finally:
        if postgres_url and database:
            _postgres_admin(postgres_url, f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        shutil.rmtree(data_dir, ignore_errors=True)


@contextlib.asynccontextmanager
async def database() -> AsyncIterator[None]:
    """Apply the migrations; on PostgreSQL hold a connection pool while the block runs."""
    from piccolo.engine.postgres import PostgresEngine

    from registry.db import engine
    from registry.migrations import upgrade

    db = engine()
    await upgrade()
    if isinstance(db, PostgresEngine):
        await db.start_connection_pool(min_size=2, max_size=20)
    try:
        yield
    finally:
        if isinstance(db, PostgresEngine):
            await db.close_connection_pool()


async def seed_people() -> World:
    """Publish the one-criterion criteria set and make the cast (admin, suppliers, reviewers)."""
    from tests.tiny_set import publish_tiny
    from tests.world import make_world

    await publish_tiny()
    return await make_world()


async def init_keys() -> None:
    """The root CA and a first active signing key, as ``registry keys init`` makes them."""
    from registry.services import keys
    from registry.services.audit import SYSTEM

    await keys.init_keys(SYSTEM)


@contextlib.asynccontextmanager
async def in_process_client() -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client speaking to the app in this process (for seeding, never for figures)."""
    import httpx

    from registry.app import create_app

    app = create_app()  # configures logging: the root logger at INFO
    quiet_logs()
    # Litestar's ASGI signature is narrower than the one httpx declares; it is a real ASGI app.
    transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as client:
        yield client


def quiet_logs() -> None:
    """Keep per-request and per-render INFO lines out of the figures and the output.

    They would cost ours and the ceiling the same (WeasyPrint logs its steps either way), so
    leaving them out only makes the ratio stricter.
    """
    for name in ("httpx", "weasyprint", "weasyprint.progress"):
        logging.getLogger(name).setLevel(logging.WARNING)


async def issue_certificates(count: int, world: World) -> list[str]:
    """Approve ``count`` tiny-set dossiers through the HTTP flow; their certificate IDs."""
    from tests.tiny_set import approve_tiny

    async with in_process_client() as client:
        return [await approve_tiny(client, world, f"Bench product {n:05d}") for n in range(count)]


# --- figures --------------------------------------------------------------------------------


def ms(seconds: float) -> str:
    """Seconds as milliseconds, for a figure."""
    return f"{seconds * 1000:8.2f} ms"


def median(samples: Sequence[float]) -> float:
    """The median (samples must not be empty)."""
    return statistics.median(samples)


def percentile(samples: Sequence[float], q: float) -> float:
    """The nearest-rank ``q``-th percentile (0 < q ≤ 100) of non-empty ``samples``."""
    ordered = sorted(samples)
    rank = max(1, -(-len(ordered) * q // 100))  # ceil(n·q/100), at least the first
    return ordered[int(rank) - 1]


def print_configuration(title: str, lines: dict[str, object]) -> None:
    """The header every benchmark prints: what ran, on what, how much."""
    print(f"== {title}")
    print("configuration:")
    for name, value in lines.items():
        print(f"  {name:<22} {value}")
    sys.stdout.flush()


def print_bar(name: str, figure: str, bar: str, met: bool) -> None:
    """One bar of DESIGN §10 and whether this run meets it."""
    print(f"{name}: {figure} (bar: {bar}) -> {'BAR MET' if met else 'BAR MISSED'}")
