"""Test wiring: one database per run (SQLite file or PostgreSQL), cleaned before every test.

The engine is chosen before any registry module is imported: REGISTRY_TEST_DATABASE_URL set
(the Makefile's PostgreSQL pass) means PostgreSQL, otherwise a fresh SQLite file in a temp dir.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
import uuid

import asyncpg


def _postgres_admin(url: str, sql: str) -> None:
    async def run() -> None:
        connection = await asyncpg.connect(url, timeout=10)
        try:
            await connection.execute(sql)
        finally:
            await connection.close()

    asyncio.run(run())


_DATA_DIR = tempfile.mkdtemp(prefix="registry-test-")
os.environ["REGISTRY_DATA_DIR"] = _DATA_DIR
os.environ["REGISTRY_BASE_URL"] = "http://registry.test"
# The suite makes thousands of public requests from one address; the limiter has its own test.
os.environ["REGISTRY_PUBLIC_RATE_PER_MINUTE"] = "1000000"
_SERVER_URL = os.environ.get("REGISTRY_TEST_DATABASE_URL", "")
# Each PostgreSQL run gets its own empty database, dropped at the end, so two runs (a developer's
# and CI's, say) never truncate each other's tables.
_RUN_DATABASE = f"mkr_test_{os.getpid()}_{uuid.uuid4().hex[:8]}" if _SERVER_URL else ""
if _SERVER_URL:
    _postgres_admin(_SERVER_URL, f'CREATE DATABASE "{_RUN_DATABASE}"')
    os.environ["REGISTRY_DATABASE_URL"] = _SERVER_URL.rsplit("/", 1)[0] + f"/{_RUN_DATABASE}"
else:
    os.environ.pop("REGISTRY_DATABASE_URL", None)

from collections.abc import AsyncIterator  # noqa: E402 — the environment must be set first

import httpx  # noqa: E402
import pytest  # noqa: E402
from litestar import Litestar  # noqa: E402
from piccolo.engine.postgres import PostgresEngine  # noqa: E402

from registry.app import create_app  # noqa: E402
from registry.db import engine, is_postgres  # noqa: E402
from registry.migrations import upgrade  # noqa: E402
from tests.world import World, make_world  # noqa: E402


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Drop this run's PostgreSQL database."""
    if _RUN_DATABASE:
        _postgres_admin(_SERVER_URL, f'DROP DATABASE IF EXISTS "{_RUN_DATABASE}" WITH (FORCE)')


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Skip PostgreSQL-only tests on the SQLite pass (they run in the PostgreSQL pass)."""
    if os.environ.get("REGISTRY_TEST_DATABASE_URL"):
        return
    skip = pytest.mark.skip(reason="PostgreSQL-only; runs in the PostgreSQL pass of make test")
    for item in items:
        if "postgres_only" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
async def migrated() -> AsyncIterator[None]:
    """An empty database with every migration applied, once per run."""
    db = engine()
    await upgrade()
    if isinstance(db, PostgresEngine):
        await db.start_connection_pool(min_size=2, max_size=20)
    yield
    if isinstance(db, PostgresEngine):
        await db.close_connection_pool()


async def _table_names() -> list[str]:
    """Every registry table, referencing tables before the tables they reference."""
    from piccolo.table import sort_table_classes

    from registry.piccolo_app import APP_CONFIG

    ordered = sort_table_classes(list(APP_CONFIG.table_classes))
    return [table._meta.tablename for table in reversed(ordered)]


@pytest.fixture
async def db(migrated: None) -> None:
    """A clean database state for one test: every registry table emptied first."""
    from registry.services import answer_cache

    answer_cache.clear()  # remembered answers belong to the previous test's database
    names = await _table_names()
    database = engine()
    if is_postgres():
        await database.run_ddl(f"TRUNCATE {', '.join(names)} RESTART IDENTITY CASCADE")
    else:
        async with database.transaction():
            for name in names:
                # Table names come from our own table classes, never from input.
                await database.run_ddl(f"DELETE FROM {name}")  # noqa: S608


@pytest.fixture
def app(db: None) -> Litestar:
    """The application, built as production builds it."""
    return create_app()


@pytest.fixture
async def client(app: Litestar) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client speaking to the app in-process, on this event loop."""
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://registry.test") as http:
        yield http


@pytest.fixture
async def world(db: None) -> World:
    """An admin, two supplier organisations with one member each, and reviewers, with tokens."""
    return await make_world()


@pytest.fixture
async def signing(db: None) -> None:
    """A root CA (made once per run, on disk) and a fresh active signing key in the database."""
    from registry.services import keys
    from registry.services.audit import SYSTEM

    await keys.init_keys(SYSTEM)
