"""The public directory: search assessed products (certificates) with their current status.

Rules enforced here:
- a certificate matches ``q`` when its ``search_text`` (product, supplier and intended purpose,
  stored lower-cased) contains it; ``q`` is trimmed, lower-cased and matched literally: ``%``,
  ``_`` and ``\\`` are escaped before they reach LIKE, and every value is a bound parameter;
- matches are ordered by relevance, then newest ``issued_at``, then ``certificate_id``; the
  ranks are 0 the product name starts with ``q``, 1 the product name contains it, 2 the supplier
  name contains it, 3 it is elsewhere (the intended purpose); an empty ``q`` lists everything,
  newest first;
- ``status`` filters on the status people see: a stored ``valid`` or ``suspended`` certificate
  whose ``valid_until`` has passed shows, and filters, as ``expired`` (as ``shown_status``);
  suspended, revoked, superseded and expired entries stay listed with their reasons;
- ``supplier`` is the supplier's whole name as printed on the certificate, in any case;
  ``criteria_set`` is ``key/version``; ``tier`` is the NICE ESF tier;
- the cursor is the (rank, issued_at, certificate_id) of a page's last entry, so walking the
  pages returns every match exactly once.

How a page stays cheap at 100,000 certificates (DESIGN §10): ``LIKE '%q%'`` cannot use a
b-tree, so ranking every certificate would read them all. Instead the CASE expression that
ranks runs over a *window*, the ``WINDOW`` newest certificates that pass the filters (an index
range on ``issued_at``). A row older than the window precedes the page's last entry only if its
rank is better than that entry's, so a second query fetches just those ranks, through a lookup
an index answers: on PostgreSQL trigram GIN indexes (pg_trgm) and a ``text_pattern_ops``
b-tree for the name prefix; on SQLite the FTS5 trigram table ``certificate_search`` and an
index on ``lower(product_name)`` (without FTS5, or for text under three characters, a scan).
A common word fills the page from the window; a rare one finds its few rows through the index.
The indexes are ``SEARCH_INDEXES``; a page's queries share one read transaction.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from piccolo.querystring import QueryString

from registry import clock
from registry.db import engine, is_postgres
from registry.domain.certificate import CertificateStatus, Reason, ShownStatus, shown_status
from registry.domain.dates import as_datetime
from registry.errors import InvalidInput
from registry.records import Record, fetch
from registry.services.paging import decode_cursor, encode_cursor, is_position
from registry.tables import Certificate
from schemas.directory import DirectoryEntry, DirectoryPage, DirectoryQuery, EntryLinks

# How many of the newest (filtered) certificates are ranked before the indexes take over:
# about sqrt(rows × page size), which balances ranking the window against fetching rows
# outside it when a word is a little too rare for the window to fill the page.
WINDOW = 2000
OTHER = 3  # the last rank: q is in search_text but in neither name
ANY_RANK = OTHER + 1  # an exclusive upper bound that admits every rank

_ENTRY_COLUMNS = (
    "certificate_id, product_name, product_version, supplier_name, esf_tier, device_class,"
    " criteria_set, issued_at, valid_until, status, status_reason, status_note,"
    " status_changed_at, superseded_by"
)
_LIVE = (CertificateStatus.valid.value, CertificateStatus.suspended.value)
_MAX_CERTIFICATE_ID = 16
# The largest code point: a string starting with p sorts (bytewise) below p + this.
_BEYOND = "\U0010ffff"

# The FTS5 table mirroring the searchable columns on SQLite (kept in step by triggers).
SEARCH_TABLE = "certificate_search"
# What the directory's lookups expect beyond the tables' own indexes, per engine. A migration
# creates them; the benchmark and the tests create them (IF NOT EXISTS) where it has not run.
SEARCH_INDEXES: dict[str, tuple[str, ...]] = {
    "postgres": (
        "CREATE EXTENSION IF NOT EXISTS pg_trgm",
        "CREATE INDEX IF NOT EXISTS certificate_product_name_trgm"
        " ON certificate USING gin (lower(product_name) gin_trgm_ops)",
        "CREATE INDEX IF NOT EXISTS certificate_supplier_name_trgm"
        " ON certificate USING gin (lower(supplier_name) gin_trgm_ops)",
        "CREATE INDEX IF NOT EXISTS certificate_search_text_trgm"
        " ON certificate USING gin (search_text gin_trgm_ops)",
        "CREATE INDEX IF NOT EXISTS certificate_product_name_prefix"
        " ON certificate (lower(product_name) text_pattern_ops)",
        "CREATE INDEX IF NOT EXISTS certificate_directory_window"
        " ON certificate (issued_at, status, valid_until, esf_tier, criteria_set)",
    ),
    "sqlite": (
        "CREATE INDEX IF NOT EXISTS certificate_product_name_prefix"
        " ON certificate (lower(product_name))",
        "CREATE INDEX IF NOT EXISTS certificate_supplier_name_lower"
        " ON certificate (lower(supplier_name))",
        "CREATE INDEX IF NOT EXISTS certificate_directory_window"
        " ON certificate (issued_at, status, valid_until, esf_tier, criteria_set)",
        "CREATE VIRTUAL TABLE IF NOT EXISTS certificate_search USING fts5("
        " certificate_id UNINDEXED, product_name, supplier_name, search_text,"
        " tokenize = 'trigram')",
        "CREATE TRIGGER IF NOT EXISTS certificate_search_insert AFTER INSERT ON certificate"
        " BEGIN INSERT INTO certificate_search"
        " (certificate_id, product_name, supplier_name, search_text) VALUES"
        " (new.certificate_id, new.product_name, new.supplier_name, new.search_text); END",
        "CREATE TRIGGER IF NOT EXISTS certificate_search_update AFTER UPDATE OF"
        " certificate_id, product_name, supplier_name, search_text ON certificate"
        " BEGIN DELETE FROM certificate_search WHERE certificate_id = old.certificate_id;"
        " INSERT INTO certificate_search"
        " (certificate_id, product_name, supplier_name, search_text) VALUES"
        " (new.certificate_id, new.product_name, new.supplier_name, new.search_text); END",
        "CREATE TRIGGER IF NOT EXISTS certificate_search_delete AFTER DELETE ON certificate"
        " BEGIN DELETE FROM certificate_search WHERE certificate_id = old.certificate_id; END",
        # Rows issued before the table existed.
        "INSERT INTO certificate_search (certificate_id, product_name, supplier_name, search_text)"
        " SELECT certificate_id, product_name, supplier_name, search_text FROM certificate"
        " WHERE certificate_id NOT IN (SELECT certificate_id FROM certificate_search)",
        "ANALYZE",  # SQLite's planner needs statistics to prefer the window index
    ),
}
# FTS5's trigram tokenizer indexes three characters at a time: shorter text finds nothing.
_TRIGRAM = 3


@dataclass(frozen=True, slots=True)
class Position:
    """Where a page ended: the last entry's rank, issue time and ID."""

    rank: int
    issued_at: int
    certificate_id: str


def like_escape(text: str) -> str:
    """``text`` as a LIKE pattern that matches it literally (escape character ``\\``)."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def normalise_query(q: str) -> str:
    """The text a search matches: trimmed and lower-cased, as ``search_text`` is stored."""
    return q.strip().lower()


def _all(parts: list[QueryString]) -> QueryString:
    if not parts:
        return QueryString("1 = 1")
    return QueryString(" AND ".join("({})" for _ in parts), *parts)


@dataclass(frozen=True, slots=True)
class _Terms:
    """The SQL of one search text: whether a row matches, its rank, and index lookups."""

    text: str
    prefix: str  # LIKE pattern: starts with the text
    contains: str  # LIKE pattern: contains the text
    postgres: bool
    search_table: bool  # SQLite only: the FTS5 trigram table exists

    @classmethod
    async def of(cls, text: str) -> _Terms:
        escaped = like_escape(text)
        postgres = is_postgres()
        search_table = not postgres and await _has_search_table()
        return cls(text, f"{escaped}%", f"%{escaped}%", postgres, search_table)

    def matches(self) -> QueryString:
        """Whether a row matches at all."""
        return QueryString("search_text LIKE {} ESCAPE '\\'", self.contains)

    def rank(self) -> QueryString:
        """A matching row's relevance, 0 (best) to ``OTHER``, as one CASE expression."""
        product, supplier = _folded("product_name"), _folded("supplier_name")
        return QueryString(
            f"(CASE WHEN {product} LIKE {{}} ESCAPE '\\' THEN 0"
            f" WHEN {product} LIKE {{}} ESCAPE '\\' THEN 1"
            f" WHEN {supplier} LIKE {{}} ESCAPE '\\' THEN 2"
            f" ELSE {OTHER} END)",
            self.prefix,
            self.contains,
            self.contains,
        )

    def ranked(self, lowest: int, below: int) -> QueryString:
        """Matching rows ranked in [lowest, below)."""
        rank = self.rank()
        if below == lowest + 1:
            return _all([self.matches(), QueryString("{} = {}", rank, lowest)])
        parts = [self.matches()]
        if lowest > 0:
            parts.append(QueryString("{} >= {}", rank, lowest))
        if below <= OTHER:
            parts.append(QueryString("{} < {}", self.rank(), below))
        return _all(parts)

    def indexed(self, lowest: int, below: int) -> QueryString:
        """Rows ranked in [lowest, below), led by a lookup an index answers without a scan."""
        return _all([self._lookup(lowest, below), self.ranked(lowest, below)])

    def _lookup(self, lowest: int, below: int) -> QueryString:
        # Each lookup admits every row of those ranks (and maybe more): the ranks decide.
        if below <= 1:
            return self._product_prefix()
        if below <= 2:
            return self._contains("product_name")
        if below <= OTHER:
            return self._contains(
                "supplier_name" if lowest >= 2 else "product_name", "supplier_name"
            )
        return self._contains("search_text")

    def _product_prefix(self) -> QueryString:
        if self.postgres:  # a text_pattern_ops b-tree on lower(product_name) answers LIKE 'p%'
            return QueryString("lower(product_name) LIKE {} ESCAPE '\\'", self.prefix)
        # SQLite answers a range, not LIKE, from an index on lower(product_name).
        return QueryString(
            "lower(product_name) >= {} AND lower(product_name) < {}",
            self.text,
            self.text + _BEYOND,
        )

    def _contains(self, *columns: str) -> QueryString:
        if self.postgres:  # trigram GIN indexes answer LIKE '%q%'
            likes = [f"{_folded(column)} LIKE {{}} ESCAPE '\\'" for column in columns]
            return QueryString(f"({' OR '.join(likes)})", *[self.contains] * len(columns))
        if self.search_table and len(self.text) >= _TRIGRAM:
            # An FTS5 phrase is the text itself, quotes doubled: no operator can hide in it.
            phrase = '"' + self.text.replace('"', '""') + '"'
            return QueryString(
                f"certificate_id IN (SELECT certificate_id FROM {SEARCH_TABLE}"  # noqa: S608
                f" WHERE {SEARCH_TABLE} MATCH {{}})",
                f"{{{' '.join(columns)}}} : {phrase}",
            )
        likes = [f"{column} LIKE {{}} ESCAPE '\\'" for column in columns]
        return QueryString(f"({' OR '.join(likes)})", *[self.contains] * len(columns))


class _Count(Record, frozen=True):
    n: int


async def _has_search_table() -> bool:
    rows = await fetch(
        Certificate.raw(
            "SELECT count(*) AS n FROM sqlite_master WHERE type = 'table' AND name = {}",
            SEARCH_TABLE,
        ),
        _Count,
    )
    return bool(rows[0].n)


def _folded(column: str) -> str:
    """``column`` for a case-insensitive LIKE against a lower-cased pattern."""
    if column == "search_text" or not is_postgres():
        return column  # stored lower-cased / SQLite's LIKE already ignores ASCII case
    return f"lower({column})"


def _filters(query: DirectoryQuery, now: int) -> QueryString:
    parts: list[QueryString] = []
    if query.status is not None:
        parts.append(_status_filter(query.status, now))
    if query.tier is not None:
        parts.append(QueryString("esf_tier = {}", query.tier))
    if query.supplier is not None:
        parts.append(QueryString("lower(supplier_name) = {}", query.supplier.strip().lower()))
    if query.criteria_set is not None:
        parts.append(QueryString("criteria_set = {}", query.criteria_set))
    return _all(parts)


def _status_filter(status: ShownStatus, now: int) -> QueryString:
    # Mirrors shown_status: a live certificate is expired once now >= valid_until.
    if status is ShownStatus.expired:
        return QueryString("status IN ({}, {}) AND valid_until <= {}", *_LIVE, now)
    if status.value in _LIVE:
        return QueryString("status = {} AND valid_until > {}", status.value, now)
    return QueryString("status = {}", status.value)


def _after(position: Position) -> QueryString:
    """Rows after ``position`` in recency order (older, or as old with a larger ID)."""
    return QueryString(
        "(issued_at < {} OR (issued_at = {} AND certificate_id > {}))",
        position.issued_at,
        position.issued_at,
        position.certificate_id,
    )


class _Entry(Record, frozen=True):
    """A certificate as the directory lists it (``_ENTRY_COLUMNS``), with its rank."""

    certificate_id: str
    product_name: str
    product_version: str
    supplier_name: str
    esf_tier: str
    device_class: str
    criteria_set: str
    issued_at: int
    valid_until: int
    status: CertificateStatus
    status_reason: str | None
    status_note: str | None
    status_changed_at: int | None
    superseded_by: str | None
    rank: int


async def _entries(template: str, *args: Any) -> list[_Entry]:
    return await fetch(Certificate.raw(template, *args), _Entry)


async def _newest(where: QueryString, limit: int) -> list[_Entry]:
    """Entry rows matching ``where``, newest first, at most ``limit`` (all rank 0)."""
    return await _entries(
        f"SELECT {_ENTRY_COLUMNS}, 0 AS rank FROM certificate WHERE {{}}"  # noqa: S608
        " ORDER BY issued_at DESC, certificate_id LIMIT {}",
        where,
        limit,
    )


async def _best(terms: _Terms, where: QueryString, limit: int) -> list[_Entry]:
    """Entry rows matching ``where``, best rank first, then newest, at most ``limit``."""
    return await _entries(
        f"SELECT {_ENTRY_COLUMNS}, {{}} AS rank FROM certificate WHERE {{}}"  # noqa: S608
        " ORDER BY rank, issued_at DESC, certificate_id LIMIT {}",
        terms.rank(),
        where,
        limit,
    )


@dataclass(frozen=True, slots=True)
class _Window:
    """The newest ``WINDOW`` rows that pass the filters, as a range of ``issued_at``."""

    newest: int
    oldest: int
    complete: bool  # fewer rows than WINDOW passed the filters: the window holds them all

    def inside(self) -> QueryString:
        return QueryString("issued_at BETWEEN {} AND {}", self.oldest, self.newest)

    def outside(self) -> QueryString:
        return QueryString("issued_at < {}", self.oldest)


class _WindowRange(Record, frozen=True):
    newest: int | None  # NULL when no row passes
    oldest: int | None
    n: int


async def _window(filters: QueryString, upto: int | None) -> _Window | None:
    """The window among rows issued no later than ``upto``; None when no row passes."""
    where = filters if upto is None else _all([filters, QueryString("issued_at <= {}", upto)])
    rows = await fetch(
        Certificate.raw(
            "SELECT max(issued_at) AS newest, min(issued_at) AS oldest, count(*) AS n FROM"
            " (SELECT issued_at FROM certificate WHERE {} ORDER BY issued_at DESC LIMIT {}) AS w",
            where,
            WINDOW,
        ),
        _WindowRange,
    )
    if not rows or not rows[0].n:
        return None
    row = rows[0]
    if row.newest is None or row.oldest is None:  # n > 0, so max and min exist
        return None
    return _Window(row.newest, row.oldest, row.n < WINDOW)


async def _continue_rank(
    terms: _Terms, filters: QueryString, after: Position, need: int
) -> list[_Entry]:
    """Up to ``need`` rows of the cursor's own rank that come after it, in order."""
    window = await _window(filters, upto=after.issued_at)
    if window is None:
        return []
    inside = _all(
        [filters, window.inside(), _after(after), terms.ranked(after.rank, after.rank + 1)]
    )
    rows = await _best(terms, inside, need)
    if window.complete or len(rows) == need:
        return rows
    # The rest of this rank is older than the window: it follows in recency order.
    outside = _all([filters, window.outside(), terms.indexed(after.rank, after.rank + 1)])
    return rows + await _best(terms, outside, need - len(rows))


async def _from_rank(terms: _Terms, filters: QueryString, lowest: int, need: int) -> list[_Entry]:
    """The first ``need`` matching rows ranked ``lowest`` or worse, in order."""
    window = await _window(filters, upto=None)
    if window is None:
        return []
    rows = await _best(
        terms, _all([filters, window.inside(), terms.ranked(lowest, ANY_RANK)]), need
    )
    if window.complete:
        return rows
    # An older row precedes the window's last pick only with a better rank than that pick's.
    below = rows[-1].rank if len(rows) == need else ANY_RANK
    if below <= lowest:
        return rows
    outside = await _best(
        terms, _all([filters, window.outside(), terms.indexed(lowest, below)]), need
    )
    # Inside and outside never share an issued_at, so a stable sort on (rank, time) keeps the
    # database's own order of IDs (its collation, which the cursor's comparison also uses).
    return sorted(rows + outside, key=_merge_key)[:need]


def _merge_key(row: _Entry) -> tuple[int, int]:
    return (row.rank, -row.issued_at)


def _decode_position(cursor: str, searching: bool) -> Position:
    value = decode_cursor(cursor, keys={"r", "t", "id"})
    rank, issued_at, certificate_id = value["r"], value["t"], value["id"]
    if (
        type(rank) is not int
        or not 0 <= rank <= (OTHER if searching else 0)
        or not is_position(issued_at)
        or not isinstance(certificate_id, str)
        or not 0 < len(certificate_id) <= _MAX_CERTIFICATE_ID
    ):
        raise InvalidInput("the cursor is not one this API issued", field="cursor")
    return Position(rank, issued_at, certificate_id)


def _encode_position(row: _Entry) -> str:
    return encode_cursor({"r": row.rank, "t": row.issued_at, "id": row.certificate_id})


@asynccontextmanager
async def _snapshot() -> AsyncIterator[None]:
    """One read transaction (one connection, one snapshot) for a page's queries."""
    async with engine().transaction():
        if is_postgres():
            # The best plan depends on the pattern (an index for a rare word, the recency
            # index for a common one); a generic plan, cached after five runs, cannot tell.
            await Certificate.raw("SET LOCAL plan_cache_mode = force_custom_plan")
        yield


def entry(row: _Entry, now: int) -> DirectoryEntry:
    """The directory's view of a certificate row, with its status as of ``now``."""
    certificate_id = row.certificate_id
    return DirectoryEntry(
        certificate_id=certificate_id,
        product_name=row.product_name,
        product_version=row.product_version,
        supplier_name=row.supplier_name,
        esf_tier=row.esf_tier,
        device_class=row.device_class,
        criteria_set=row.criteria_set,
        issued_at=as_datetime(row.issued_at),
        valid_until=as_datetime(row.valid_until),
        status=shown_status(row.status, row.valid_until, now),
        status_reason=Reason(row.status_reason) if row.status_reason else None,
        status_note=row.status_note,
        status_changed_at=as_datetime(row.status_changed_at),
        superseded_by=row.superseded_by,
        links=EntryLinks(
            verify=f"/v/{certificate_id}", certificate=f"/v1/certificates/{certificate_id}"
        ),
    )


async def search(query: DirectoryQuery) -> DirectoryPage:
    """One page of the directory for ``query``, best match first."""
    now = clock.now()
    text = normalise_query(query.q)
    after = _decode_position(query.cursor, bool(text)) if query.cursor else None
    filters = _filters(query, now)
    need = query.limit + 1  # one more than the page, to know whether another page follows
    async with _snapshot():
        if not text:
            where = filters if after is None else _all([filters, _after(after)])
            rows = await _newest(where, need)
        else:
            terms = await _Terms.of(text)
            rows = [] if after is None else await _continue_rank(terms, filters, after, need)
            lowest = 0 if after is None else after.rank + 1
            if len(rows) < need and lowest <= OTHER:
                rows += await _from_rank(terms, filters, lowest, need - len(rows))
    page = rows[: query.limit]
    return DirectoryPage(
        items=[entry(row, now) for row in page],
        next_cursor=_encode_position(page[-1]) if len(rows) > query.limit else None,
    )
