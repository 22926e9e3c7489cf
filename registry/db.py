"""The database engine and the one write-transaction helper every service uses.

SQLite: every write transaction is ``BEGIN IMMEDIATE`` with a busy timeout, which serialises
writers instead of failing one of them with "database is locked" at commit (DESIGN §8).
PostgreSQL: an ordinary transaction; chain appends add an advisory lock (see ``chain_lock``).
"""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
from piccolo.engine.base import Engine
from piccolo.engine.finder import engine_finder
from piccolo.engine.postgres import PostgresEngine
from piccolo.engine.sqlite import SQLiteEngine, TransactionType

from registry.settings import Settings


def make_engine(settings: Settings) -> Engine:  # type: ignore[type-arg]
    """SQLite under the data directory by default; PostgreSQL for a ``postgresql://`` URL."""
    url = settings.database_url
    if url and url.startswith(("postgresql://", "postgres://")):
        return PostgresEngine(config={"dsn": url})
    if url:
        raise ValueError(
            f"REGISTRY_DATABASE_URL must be a postgresql:// URL, got {url.split(':')[0]}"
        )
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    path = str(settings.sqlite_path)
    _enable_wal(path)
    return SQLiteEngine(path=path, timeout=settings.sqlite_busy_timeout_seconds)


def _enable_wal(path: str) -> None:
    # WAL is a property of the file, so setting it once when the engine is made is enough;
    # it lets readers proceed while one writer holds the IMMEDIATE lock.
    with sqlite3.connect(path) as connection:
        connection.execute("PRAGMA journal_mode=WAL")


def engine() -> Engine:  # type: ignore[type-arg]
    """The engine configured in ``piccolo_conf``."""
    found = engine_finder()
    if found is None:
        raise RuntimeError("piccolo_conf did not configure a database engine")
    return found


def is_postgres() -> bool:
    """True when the configured engine is PostgreSQL."""
    return isinstance(engine(), PostgresEngine)


@asynccontextmanager
async def write_transaction() -> AsyncIterator[Any]:
    """A write transaction: IMMEDIATE on SQLite, plain on PostgreSQL; joins an outer one."""
    db = engine()
    if isinstance(db, SQLiteEngine):
        async with db.transaction(transaction_type=TransactionType.immediate) as transaction:
            yield transaction
    else:
        async with db.transaction() as transaction:
            yield transaction


@asynccontextmanager
async def read_transaction() -> AsyncIterator[Any]:
    """Several reads on one connection (and one snapshot); joins an outer transaction.

    Never write inside one on its own: on SQLite a deferred transaction that later writes can
    fail with "database is locked". Piccolo otherwise opens a connection per query on SQLite.
    """
    async with engine().transaction() as transaction:
        yield transaction


async def chain_lock(key: int) -> None:
    """On PostgreSQL, take a transaction-scoped advisory lock before reading a chain head.

    SQLite needs nothing: its IMMEDIATE transaction already excludes every other writer.
    """
    db = engine()
    if isinstance(db, PostgresEngine):
        await db.run_ddl(f"SELECT pg_advisory_xact_lock({int(key)})")


@asynccontextmanager
async def elected(key: int) -> AsyncIterator[bool]:
    """Whether this process won periodic job ``key`` for the block's duration.

    PostgreSQL: a transaction-scoped advisory lock taken without waiting, so among several app
    processes one does the job and the rest skip it. SQLite has one server process per file in
    practice, so it always wins, and holds no transaction (a long job must not block writers).
    """
    db = engine()
    if not isinstance(db, PostgresEngine):
        yield True
        return
    async with db.transaction():
        rows = await db.run_ddl(f"SELECT pg_try_advisory_xact_lock({int(key)}) AS won")
        yield bool(rows and rows[0]["won"])


def is_unique_violation(error: BaseException) -> bool:
    """True when a write failed on a unique constraint, on either engine (never by message text)."""
    if isinstance(error, asyncpg.UniqueViolationError):
        return True
    return (
        isinstance(error, sqlite3.IntegrityError)
        and getattr(error, "sqlite_errorname", "") == "SQLITE_CONSTRAINT_UNIQUE"
    )
