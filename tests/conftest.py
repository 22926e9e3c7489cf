"""Test wiring: one database per test process (a SQLite file or a PostgreSQL database), cleaned
before every test.

The engine is chosen before any registry module is imported: REGISTRY_TEST_DATABASE_URL set
(the Makefile's PostgreSQL pass) means PostgreSQL, otherwise a fresh SQLite file in a temp dir.

Under pytest-xdist (``make test`` runs ``pytest -n 2``) every worker is a process of its own that
imports this file for itself, so every worker gets its own data directory (SQLite file, keys,
blobs) and its own PostgreSQL database; the controller, which runs no tests, uses neither. The
PostgreSQL database is created when the first test needs it (the ``migrated`` fixture), never on
import, and dropped when the process's session ends; the process that started the run (the
controller, or pytest itself without xdist) then drops any database of the run still left, say
by a worker that crashed.
"""

from __future__ import annotations

import asyncio
import functools
import os
import shutil
import tempfile
import uuid
from pathlib import Path

import asyncpg

# "gw0", "gw1"… in an xdist worker (set before this file is imported); "" otherwise.
_WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")
# One id per run, shared with the workers through the environment they inherit: the starting
# process sets it on import, before xdist starts any worker.
if not _WORKER:
    os.environ["KITEMARK_TEST_RUN"] = f"{os.getpid()}_{uuid.uuid4().hex[:8]}"
_RUN = os.environ.get("KITEMARK_TEST_RUN") or f"{os.getpid()}_{uuid.uuid4().hex[:8]}"

_DATA_DIR_PREFIX = f"registry-test-{_RUN}-"
_DATA_DIR = tempfile.mkdtemp(prefix=f"{_DATA_DIR_PREFIX}{_WORKER or 'main'}-")
os.environ["REGISTRY_DATA_DIR"] = _DATA_DIR
os.environ["REGISTRY_BASE_URL"] = "http://registry.test"
# The suite makes thousands of public requests from one address; the limiter has its own test.
os.environ["REGISTRY_PUBLIC_RATE_PER_MINUTE"] = "1000000"
_SERVER_URL = os.environ.get("REGISTRY_TEST_DATABASE_URL", "")
# Each PostgreSQL run, and each worker of it, gets its own empty database, dropped at the end, so
# two runs (a developer's and CI's, say) or two workers never truncate each other's tables.
_DATABASE_PREFIX = f"mkr_test_{_RUN}_"
_RUN_DATABASE = f"{_DATABASE_PREFIX}{_WORKER or 'main'}" if _SERVER_URL else ""
_created = False
if _SERVER_URL:
    os.environ["REGISTRY_DATABASE_URL"] = _SERVER_URL.rsplit("/", 1)[0] + f"/{_RUN_DATABASE}"
else:
    os.environ.pop("REGISTRY_DATABASE_URL", None)

from collections.abc import AsyncIterator, Iterator  # noqa: E402 — the environment must be set first
from typing import TYPE_CHECKING  # noqa: E402

import httpx  # noqa: E402
import pytest  # noqa: E402

from registry import clock  # noqa: E402

if TYPE_CHECKING:
    from litestar import Litestar
    from piccolo.table import Table

    from tests.authz_fixtures import WorldSnapshot
    from tests.world import World

# The registry's clock as it is before any test moves it (see ``world``).
_REAL_NOW = clock.now
# Everything else of the registry's is imported where it is used: the xdist controller imports
# this file too, and starts its workers only once it has.


async def _postgres_admin(sql: str) -> list[asyncpg.Record]:
    """Run ``sql`` on the server's maintenance database (REGISTRY_TEST_DATABASE_URL)."""
    connection = await asyncpg.connect(_SERVER_URL, timeout=10)
    try:
        rows: list[asyncpg.Record] = await connection.fetch(sql)
        return rows
    finally:
        await connection.close()


async def _drop_databases(names: list[str]) -> None:
    for name in names:
        await _postgres_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def _databases_of_this_run() -> list[str]:
    rows = await _postgres_admin("SELECT datname FROM pg_database")
    return [r["datname"] for r in rows if r["datname"].startswith(_DATABASE_PREFIX)]


@pytest.hookimpl(trylast=True)  # in the controller, after xdist has stopped its workers
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Drop this process's PostgreSQL database and remove its data directory; in the process
    that started the run, also whatever of the run a worker left behind (a crashed one, say)."""
    shutil.rmtree(_DATA_DIR, ignore_errors=True)
    if _WORKER:
        if _created:
            asyncio.run(_drop_databases([_RUN_DATABASE]))
        return
    for left in Path(tempfile.gettempdir()).glob(f"{_DATA_DIR_PREFIX}*"):
        shutil.rmtree(left, ignore_errors=True)
    if _SERVER_URL:

        async def sweep() -> None:
            await _drop_databases(await _databases_of_this_run())

        try:
            asyncio.run(sweep())
        except (OSError, asyncpg.PostgresError):
            if _created:
                raise  # our own database is left: say so


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Skip PostgreSQL-only tests on the SQLite pass (they run in the PostgreSQL pass).

    Under xdist, hand out the ``slow`` tests first, so no worker is left running a long test
    alone at the end while the others wait (every worker sorts alike, as xdist requires). One
    that needs the run's S3 server stays beside the other tests that need it: a worker given
    any of them starts a server of its own.
    """
    if _WORKER:
        items.sort(key=lambda item: not _handed_out_first(item))
    if os.environ.get("REGISTRY_TEST_DATABASE_URL"):
        return
    skip = pytest.mark.skip(reason="PostgreSQL-only; runs in the PostgreSQL pass of make test")
    for item in items:
        if "postgres_only" in item.keywords:
            item.add_marker(skip)


def _handed_out_first(item: pytest.Item) -> bool:
    fixtures = getattr(item, "fixturenames", ())
    return item.get_closest_marker("slow") is not None and "s3_server" not in fixtures


# Under xdist: the test whose parameters ``pytest_generate_tests`` is making now is marked
# ``random_params``, and how many of its parameter ids were made so far.
_random_ids: list[int] = []


@pytest.hookimpl(wrapper=True)
def pytest_generate_tests(metafunc: pytest.Metafunc) -> Iterator[None]:
    """Under xdist, name the parameters of a test marked ``random_params`` by their position.

    Every worker imports the test module itself and so draws its own values; ids naming the
    values would differ between workers, which xdist refuses. Named by position they agree, and
    the one worker given a case runs it on that worker's fresh draw.
    """
    marked = bool(_WORKER) and metafunc.definition.get_closest_marker("random_params") is not None
    if marked:
        _random_ids.append(0)
    try:
        return (yield)
    finally:
        if marked:
            _random_ids.pop()


def pytest_make_parametrize_id(config: pytest.Config, val: object, argname: str) -> str | None:
    """``random-<n>`` for the parameters of a test marked ``random_params`` (see above)."""
    if not _random_ids:
        return None
    _random_ids[-1] += 1
    return f"random-{_random_ids[-1]}"


@pytest.fixture(scope="session")
async def migrated() -> AsyncIterator[None]:
    """An empty database with every migration applied, once per test process."""
    from piccolo.engine.postgres import PostgresEngine

    from registry.db import engine
    from registry.migrations import upgrade

    global _created
    if _SERVER_URL and not _created:
        await _postgres_admin(f'CREATE DATABASE "{_RUN_DATABASE}"')
        _created = True
    db = engine()
    await upgrade()
    if isinstance(db, PostgresEngine):
        await db.start_connection_pool(min_size=2, max_size=20)
    yield
    if isinstance(db, PostgresEngine):
        await db.close_connection_pool()


def _tables() -> list[type[Table]]:
    """Every registry table, referencing tables before the tables they reference."""
    from piccolo.table import sort_table_classes

    from registry.piccolo_app import APP_CONFIG

    return list(reversed(sort_table_classes(list(APP_CONFIG.table_classes))))


@functools.cache
def _cleaning() -> list[str]:
    """The statements that empty every registry table, in one transaction.

    DELETE, on both engines: the tables hold a few rows each, and PostgreSQL's TRUNCATE, which
    makes every table's files anew, costs some 60-140 ms a test against 2-3 ms for DELETE.
    PostgreSQL's serial keys then restart at 1 (as TRUNCATE … RESTART IDENTITY did).
    """
    from piccolo.columns import Serial

    from registry.db import is_postgres

    statements = [f"DELETE FROM {table._meta.tablename}" for table in _tables()]  # noqa: S608
    serials = [
        f"setval(pg_get_serial_sequence('{table._meta.tablename}', '{c._meta.name}'), 1, false)"
        for table in _tables()
        for c in table._meta.columns
        if isinstance(c, Serial)
    ]
    if is_postgres() and serials:
        statements.append(f"SELECT {', '.join(serials)}")
    return statements


@pytest.fixture
async def db(migrated: None) -> None:
    """A clean database state for one test: every registry table emptied first."""
    from registry.db import engine
    from registry.services import answer_cache

    answer_cache.clear()  # remembered answers belong to the previous test's database
    database = engine()
    async with database.transaction():
        for statement in _cleaning():
            # Table and column names come from our own table classes, never from input.
            await database.run_ddl(statement)


@functools.cache
def _application() -> Litestar:
    from registry.app import create_app

    return create_app()


@pytest.fixture
def app(db: None) -> Litestar:
    """The application, built as production builds it, and once per test process, as a server
    process builds it once: it keeps nothing between requests but the rate limiter's counts (the
    suite's limit is out of reach, see above), and building it costs more than most tests'
    requests. A test that needs other settings builds an app of its own."""
    return _application()


@pytest.fixture
async def client(app: Litestar) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client speaking to the app in-process, on this event loop."""
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://registry.test") as http:
        yield http


@functools.cache
def _world_snapshot() -> WorldSnapshot:
    from tests.authz_fixtures import WorldSnapshot

    return WorldSnapshot()


@pytest.fixture
async def world(db: None) -> World:
    """An admin, two supplier organisations with one member each, and reviewers, with tokens.

    Made once per test process and its rows written back into each test's clean database (a
    handful of inserts, not a few dozen service calls): the same ids, tokens and audit chain, so
    a test cannot tell it from a World made for it alone. It is made afresh, as before, for a
    test that has moved the registry's clock (made at its time) or put something in the database
    first (say the ``signing`` fixture's key, whose audit event comes first in the chain).
    """
    if clock.now is not _REAL_NOW or not await _empty():
        from tests.world import make_world

        return await make_world()
    return await _world_snapshot().world()


async def _empty() -> bool:
    """True when every registry table is empty (one query)."""
    from registry.tables import AuditEvent

    # Table names come from our own table classes, never from input.
    found = " OR ".join(f"EXISTS (SELECT 1 FROM {t._meta.tablename})" for t in _tables())  # noqa: S608
    rows = await AuditEvent.raw(f"SELECT 1 AS found WHERE {found}")
    return not rows


@pytest.fixture
async def signing(db: None) -> None:
    """A root CA (made once per run, on disk) and a fresh active signing key in the database."""
    from registry.services import keys
    from registry.services.audit import SYSTEM

    await keys.init_keys(SYSTEM)
