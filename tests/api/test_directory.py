"""The public directory over HTTP: search, ranking, filters, derived expiry, paging, bad input.

Most tests insert certificate rows directly (with the minimal organisation, product, dossier
and revision rows their foreign keys need); one takes a real certificate through the whole flow.
Paging is checked against an oracle written from the rules in ``registry.services.directory``,
with the window shrunk so that every path through the search (window, index lookup, cursor
continuing a rank) runs, and on each engine with and without the search indexes.
"""

from __future__ import annotations

import itertools
import random
import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, replace
from typing import Any

import httpx
import pytest

from registry import clock
from registry.db import engine, is_postgres
from registry.services import directory
from registry.tables import Certificate, Dossier, Organisation, Product, Revision
from tests.times import rfc3339
from tests.tiny_set import approve_tiny, publish_tiny
from tests.world import World

NOW = 1_800_000_000
DAY = 86_400
YEAR = 365 * DAY
_ids = itertools.count(1)


@dataclass(frozen=True)
class Cert:
    """One certificate row to insert; everything a search looks at, and sensible defaults."""

    product: str
    supplier: str = "Acme Health Ltd"
    purpose: str = "Helps practices run their day."
    issued_at: int = NOW - 10 * DAY
    valid_until: int | None = None  # a year after issue unless given
    status: str = "valid"
    tier: str = "A"
    criteria_set: str = "kitemark-core/1"
    reason: str | None = None
    note: str | None = None
    superseded_by: str | None = None
    version: str = "1.0"

    @property
    def until(self) -> int:
        return self.issued_at + YEAR if self.valid_until is None else self.valid_until

    @property
    def search_text(self) -> str:
        # As issuance builds it.
        return " ".join([self.product, self.supplier, self.purpose]).lower()


async def insert(certs: Sequence[Cert]) -> list[str]:
    """Insert the rows (in bulk) and return their certificate IDs, in the same order."""
    organisation = uuid.uuid4()
    await Organisation.insert(
        Organisation(
            id=organisation, name=f"Org {organisation.hex[:8]}", kind="supplier", created_at=0
        )
    )
    product = uuid.uuid4()
    await Product.insert(
        Product(
            id=product,
            organisation=organisation,
            name="Product",
            intended_purpose="Purpose.",
            profile="{}",
            created_at=0,
        )
    )
    dossier = uuid.uuid4()
    await Dossier.insert(
        Dossier(
            id=dossier,
            organisation=organisation,
            product=product,
            product_version="1.0",
            criteria_set="kitemark-core/1",
            current_revision=1,
            row_version=1,
            created_at=0,
            updated_at=0,
        )
    )
    revisions = [uuid.uuid4() for _ in certs]
    await Revision.insert(
        *[
            Revision(
                id=revision,
                natural_key=f"{dossier}:{n}",
                dossier=dossier,
                number=n + 1,
                status="approved",
                created_at=0,
            )
            for n, revision in enumerate(revisions)
        ]
    )
    ids = [f"MKR-{next(_ids):04d}-TEST-0" for _ in certs]
    await Certificate.insert(
        *[
            Certificate(
                id=uuid.uuid4(),
                certificate_id=certificate_id,
                revision=revision,
                dossier=dossier,
                product=product,
                organisation=organisation,
                product_name=cert.product,
                product_version=cert.version,
                supplier_name=cert.supplier,
                intended_purpose=cert.purpose,
                esf_tier=cert.tier,
                device_class="none",
                criteria_set=cert.criteria_set,
                criteria_sha256="0" * 64,
                dossier_sha256="1" * 64,
                outcomes="[]",
                issued_at=cert.issued_at,
                valid_until=cert.until,
                kid="kid",
                statement="header.claims.signature",
                pdf_sha256="2" * 64,
                status=cert.status,
                status_reason=cert.reason,
                status_note=cert.note,
                status_changed_at=cert.issued_at + DAY if cert.reason else None,
                superseded_by=cert.superseded_by,
                search_text=cert.search_text,
            )
            for certificate_id, revision, cert in zip(ids, revisions, certs, strict=True)
        ]
    )
    return ids


@pytest.fixture
def fixed_clock(monkeypatch: pytest.MonkeyPatch) -> int:
    """Freeze the registry's clock at NOW."""
    monkeypatch.setattr(clock, "now", lambda: NOW)
    return NOW


async def _search(client: httpx.AsyncClient, **params: Any) -> dict[str, Any]:
    response = await client.get("/v1/directory", params=params)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def _walk(client: httpx.AsyncClient, **params: Any) -> list[str]:
    """Every certificate ID a search returns, page by page."""
    seen: list[str] = []
    cursor = None
    for _ in range(500):  # bounded: far more pages than any test makes
        page = await _search(client, **params, **({"cursor": cursor} if cursor else {}))
        seen += [item["certificate_id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            return seen
    raise AssertionError("the pages never ended")


# -- the search indexes, present or not -------------------------------------------------------


async def _objects() -> set[str]:
    if is_postgres():
        rows = await Certificate.raw(
            "SELECT indexname AS name FROM pg_indexes WHERE tablename = 'certificate'"
        )
    else:
        rows = await Certificate.raw("SELECT name FROM sqlite_master")
    return {row["name"] for row in rows}


_PG_INDEXES = (
    "certificate_product_name_trgm",
    "certificate_supplier_name_trgm",
    "certificate_search_text_trgm",
    "certificate_product_name_prefix",
    "certificate_directory_window",
)
_SQLITE_OBJECTS = (
    ("TRIGGER", "certificate_search_insert"),
    ("TRIGGER", "certificate_search_update"),
    ("TRIGGER", "certificate_search_delete"),
    ("TABLE", "certificate_search"),
    ("INDEX", "certificate_product_name_prefix"),
    ("INDEX", "certificate_supplier_name_lower"),
    ("INDEX", "certificate_directory_window"),
)


@pytest.fixture(params=["as migrated", "without search indexes"])
async def indexes(request: pytest.FixtureRequest, db: None) -> AsyncIterator[str]:
    """The schema as migrated, or without the search indexes (the service's fallback path)."""
    database = engine()
    if request.param == "without search indexes":
        await _drop_search_indexes()
    yield request.param
    if request.param == "without search indexes":
        # Put back what the migration made (its statements are idempotent and backfill).
        for statement in directory.SEARCH_INDEXES["postgres" if is_postgres() else "sqlite"]:
            await database.run_ddl(statement)


async def test_the_migration_creates_the_search_indexes(db: None) -> None:
    expected = set(_PG_INDEXES) if is_postgres() else {name for _, name in _SQLITE_OBJECTS}
    assert expected <= await _objects()


async def _drop_search_indexes() -> None:
    database = engine()
    if is_postgres():
        for name in _PG_INDEXES:
            await database.run_ddl(f"DROP INDEX IF EXISTS {name}")
    else:
        for kind, name in _SQLITE_OBJECTS:
            await database.run_ddl(f"DROP {kind} IF EXISTS {name}")


# -- a real certificate --------------------------------------------------------------------


@pytest.mark.usefixtures("signing")
async def test_an_issued_certificate_is_in_the_directory_with_its_status(
    client: httpx.AsyncClient, world: World
) -> None:
    await publish_tiny()
    certificate_id = await approve_tiny(client, world, name="Booking Buddy")

    page = await _search(client, q="  booking  ")
    assert [item["certificate_id"] for item in page["items"]] == [certificate_id]
    entry = page["items"][0]
    assert entry["product_name"] == "Booking Buddy"
    assert entry["product_version"] == "1.0"
    assert entry["supplier_name"] == "Supplier A Ltd"
    assert entry["criteria_set"] == "tiny/1"
    assert entry["status"] == "valid"
    assert entry["links"] == {
        "verify": f"/v/{certificate_id}",
        "certificate": f"/v1/certificates/{certificate_id}",
    }
    assert page["next_cursor"] is None

    suspended = await client.post(
        f"/v1/certificates/{certificate_id}/status",
        json={"action": "suspend", "reason": "safety_concern", "note": "Incident under review."},
        headers=world.admin.headers,
    )
    assert suspended.status_code == 200, suspended.text
    page = await _search(client, q="buddy", status="suspended")
    assert page["items"][0]["status"] == "suspended"
    assert page["items"][0]["status_reason"] == "safety_concern"
    assert page["items"][0]["status_note"] == "Incident under review."
    assert (await _search(client, q="buddy", status="valid"))["items"] == []


# -- ranking -------------------------------------------------------------------------------


async def test_relevance_then_recency(client: httpx.AsyncClient, db: None) -> None:
    newest, older, oldest = NOW - DAY, NOW - 50 * DAY, NOW - 300 * DAY
    ids = await insert(
        [
            Cert("Dermal Care", issued_at=oldest),  # 0: the name starts with it
            Cert("DermaView", issued_at=older),  # 0, newer
            Cert("SkinDerm", issued_at=newest),  # 1: the name contains it
            Cert("Skin Check", supplier="Derma Labs Ltd", issued_at=newest),  # 2: supplier
            Cert("Mole Map", purpose="Dermatology referrals.", issued_at=newest),  # 3: purpose
            Cert("Booking", issued_at=newest),  # no match
        ]
    )
    found = [item["certificate_id"] for item in (await _search(client, q="DERM"))["items"]]
    assert found == [ids[1], ids[0], ids[2], ids[3], ids[4]]


async def test_empty_query_lists_everything_newest_first(
    client: httpx.AsyncClient, db: None
) -> None:
    ids = await insert(
        [
            Cert("Old", issued_at=NOW - 9 * DAY),
            Cert("New", issued_at=NOW - DAY),
            Cert("Mid", issued_at=NOW - 5 * DAY),
        ]
    )
    assert [i["certificate_id"] for i in (await _search(client))["items"]] == [
        ids[1],
        ids[2],
        ids[0],
    ]
    assert (await _search(client, q="   "))["items"] == (await _search(client))["items"]


@dataclass(frozen=True)
class Verbatim:
    """A search text with wildcard or escape characters, and the names it must (not) find."""

    q: str
    finds: tuple[str, ...]


VERBATIM = [
    Verbatim("50%", finds=("Save 50% Now",)),  # not "Save 500 Now": % is no wildcard
    Verbatim("a_b", finds=("Lab a_b test",)),  # not "Lab axb test": _ is no wildcard
    Verbatim("\\", finds=("Back\\slash",)),  # a backslash is a character, not an escape
    Verbatim("%", finds=("Save 50% Now",)),
    Verbatim("_", finds=("Lab a_b test",)),
    Verbatim('"quoted"', finds=('Say "quoted" twice',)),  # FTS5 phrase quoting
]


@pytest.mark.parametrize("case", VERBATIM, ids=[c.q for c in VERBATIM])
async def test_wildcards_match_literally(
    client: httpx.AsyncClient, indexes: str, case: Verbatim
) -> None:
    names = ["Save 50% Now", "Save 500 Now", "Lab a_b test", "Lab axb test", "Back\\slash"]
    names.append('Say "quoted" twice')
    await insert([Cert(name, supplier="Plain Ltd", purpose="Plain.") for name in names])
    found = {i["product_name"] for i in (await _search(client, q=case.q))["items"]}
    assert found == set(case.finds)


# -- filters -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Filter:
    """A filter and the products it must return (newest first)."""

    label: str
    params: dict[str, str]
    products: list[str]


# Issued newest first in this order, so every expected list below is in that order too.
FILTER_ROWS = [
    Cert("Valid A", tier="A"),
    Cert("Valid C", tier="C", supplier="Beacon Digital Ltd", criteria_set="kitemark-core/2"),
    Cert("Suspended", status="suspended", reason="safety_concern", note="Paused."),
    Cert("Revoked", status="revoked", reason="evidence_lapsed", note="DSPT lapsed."),
    Cert("Superseded", status="superseded", reason="reassessed", note="v2 out."),
    Cert("Expired valid", valid_until=NOW - DAY),
    Cert("Expired suspended", status="suspended", valid_until=NOW, reason="safety_concern"),
    Cert("Revoked after expiry", status="revoked", valid_until=NOW - DAY),
]
FILTERS = [
    Filter("valid excludes the expired", {"status": "valid"}, ["Valid A", "Valid C"]),
    Filter("suspended excludes the expired", {"status": "suspended"}, ["Suspended"]),
    Filter(
        "expired is derived from valid_until",
        {"status": "expired"},
        ["Expired valid", "Expired suspended"],
    ),
    Filter(
        "revoked stays revoked after expiry",
        {"status": "revoked"},
        ["Revoked", "Revoked after expiry"],
    ),
    Filter("superseded", {"status": "superseded"}, ["Superseded"]),
    Filter("tier", {"tier": "C"}, ["Valid C"]),
    Filter("supplier, whole name, any case", {"supplier": " beacon DIGITAL ltd "}, ["Valid C"]),
    Filter("supplier is not a substring", {"supplier": "Beacon"}, []),
    Filter("criteria set", {"criteria_set": "kitemark-core/2"}, ["Valid C"]),
    Filter(
        "with a query",
        {"q": "expired", "status": "expired"},
        ["Expired valid", "Expired suspended"],
    ),
    Filter("combined", {"status": "valid", "tier": "A", "q": "valid"}, ["Valid A"]),
]


@pytest.mark.parametrize("case", FILTERS, ids=[c.label for c in FILTERS])
async def test_filters(client: httpx.AsyncClient, db: None, fixed_clock: int, case: Filter) -> None:
    await insert([replace(row, issued_at=NOW - n * DAY) for n, row in enumerate(FILTER_ROWS, 1)])
    found = [i["product_name"] for i in (await _search(client, **case.params))["items"]]
    assert found == case.products


async def test_entries_keep_their_status_and_reasons(
    client: httpx.AsyncClient, db: None, fixed_clock: int
) -> None:
    await insert(
        [
            Cert("Gone", status="superseded", reason="reassessed", note="New version.",
                 superseded_by="MKR-7Q4K-9X2M-G"),
            Cert("Stale", valid_until=NOW),
        ]
    )  # fmt: skip
    items = {i["product_name"]: i for i in (await _search(client))["items"]}
    assert items["Gone"]["status"] == "superseded"
    assert items["Gone"]["status_reason"] == "reassessed"
    assert items["Gone"]["status_note"] == "New version."
    assert items["Gone"]["superseded_by"] == "MKR-7Q4K-9X2M-G"
    assert items["Stale"]["status"] == "expired"  # valid_until == now: expired, as shown_status
    assert items["Stale"]["status_reason"] is None
    # Times as RFC 3339 UTC to the second, as they were stored (a status change a day after issue).
    assert items["Gone"]["issued_at"] == rfc3339(NOW - 10 * DAY)
    assert items["Gone"]["valid_until"] == rfc3339(NOW - 10 * DAY + YEAR)
    assert items["Gone"]["status_changed_at"] == rfc3339(NOW - 9 * DAY)
    assert items["Stale"]["valid_until"] == rfc3339(NOW)
    assert items["Stale"]["status_changed_at"] is None


# -- paging against an oracle --------------------------------------------------------------

PREFIXES = ["Care", "Medi", "Derm", "Path", "Scan", "Ace", "Zen"]
STEMS = ["care", "link", "flow", "medic", "point", ""]
FUNCTIONS = ["Booking", "Triage", "Records", "Derm Check", "Homecare", "Messaging"]
SUPPLIERS = ["Carefield Ltd", "Medico Labs", "Northern Digital", "Acme Health Ltd"]
PURPOSES = [
    "Books appointments for patients.",
    "Helps carers record medication.",
    "Triage in urgent care.",
    "Shares dermatology photographs.",
    "Schedules rota shifts.",
]


def _dataset(count: int) -> list[Cert]:
    rng = random.Random(7)  # noqa: S311 — made-up rows, reproducibly
    times = [NOW - rng.randint(0, 40) * DAY for _ in range(count)]  # many ties in issued_at
    return [
        Cert(
            f"{rng.choice(PREFIXES)}{rng.choice(STEMS)} {rng.choice(FUNCTIONS)}",
            supplier=rng.choice(SUPPLIERS),
            purpose=rng.choice(PURPOSES),
            issued_at=issued,
            valid_until=issued + rng.choice([5, 20, 400]) * DAY,
            status=rng.choice(["valid"] * 6 + ["suspended", "revoked", "superseded"]),
            tier=rng.choice("ABC"),
            criteria_set=rng.choice(["kitemark-core/1", "kitemark-core/2"]),
        )
        for issued in times
    ]


def _shown(cert: Cert, now: int) -> str:
    if cert.status in ("valid", "suspended") and now >= cert.until:
        return "expired"
    return cert.status


def oracle(rows: Sequence[tuple[str, Cert]], params: dict[str, str], now: int) -> list[str]:
    """The directory's rules, restated in Python."""
    text = params.get("q", "").strip().lower()
    ranked = []
    for certificate_id, cert in rows:
        if "status" in params and _shown(cert, now) != params["status"]:
            continue
        if "tier" in params and cert.tier != params["tier"]:
            continue
        if "criteria_set" in params and cert.criteria_set != params["criteria_set"]:
            continue
        if "supplier" in params and cert.supplier.lower() != params["supplier"].strip().lower():
            continue
        if text and text not in cert.search_text:
            continue
        product, supplier = cert.product.lower(), cert.supplier.lower()
        if not text or product.startswith(text):
            rank = 0
        elif text in product:
            rank = 1
        elif text in supplier:
            rank = 2
        else:
            rank = 3
        ranked.append((rank, -cert.issued_at, certificate_id))
    return [certificate_id for *_, certificate_id in sorted(ranked)]


@dataclass(frozen=True)
class Walk:
    """A search to page through, and the page size to do it with."""

    label: str
    params: dict[str, str]
    limit: int = 4


WALKS = [
    Walk("everything", {}),
    Walk("care: every rank", {"q": "care"}),
    Walk("medi", {"q": "medi", "status": "valid"}),
    Walk("one letter", {"q": "e"}, limit=9),
    Walk("derm, trimmed, any case", {"q": "  DERM "}),
    Walk("two words", {"q": "derm check"}),
    Walk("supplier words", {"q": "labs"}),
    Walk("purpose words", {"q": "urgent care"}),
    Walk("filters", {"q": "c", "tier": "B", "criteria_set": "kitemark-core/2"}),
    Walk("expired", {"q": "care", "status": "expired"}),
    Walk("supplier filter", {"supplier": "medico labs", "q": "a"}),
    Walk("no match", {"q": "zzq"}),
    Walk("page of one", {"q": "link"}, limit=1),
]


@pytest.mark.parametrize("window", [2000, 3, 10])
@pytest.mark.parametrize("walk", WALKS, ids=[w.label for w in WALKS])
async def test_paging_returns_every_match_once_in_order(
    client: httpx.AsyncClient,
    indexes: str,
    fixed_clock: int,
    monkeypatch: pytest.MonkeyPatch,
    walk: Walk,
    window: int,
) -> None:
    monkeypatch.setattr(directory, "WINDOW", window)
    rows = _dataset(90)
    ids = await insert(rows)
    expected = oracle(list(zip(ids, rows, strict=True)), walk.params, NOW)
    seen = await _walk(client, **walk.params, limit=walk.limit)
    assert len(seen) == len(set(seen)), "a certificate came back twice"
    assert seen == expected


@dataclass(frozen=True)
class Buried:
    """Newer weak matches that fill the window, and older better ones it must still find."""

    label: str
    q: str
    newer: list[Cert]
    older: list[Cert]


BURIED = [
    Buried(
        "a supplier match under purpose matches",
        "north",
        newer=[Cert(f"Rota {n}", purpose="Runs in the north.") for n in range(4)],
        older=[Cert("Shift Planner", supplier="Northern Digital"), Cert("Northstar")],
    ),
    Buried(
        "a name prefix under name matches",
        "derm",
        newer=[Cert(f"AcmeDerm {n}") for n in range(4)],
        older=[Cert("Dermatix"), Cert("Dermé Plus")],
    ),
    Buried(
        "a name match under supplier matches",
        "derm",
        newer=[Cert(f"Skin {n}", supplier="Derm Labs Ltd") for n in range(4)],
        older=[Cert("SkinDerm"), Cert("Dermscope")],
    ),
]


@pytest.mark.parametrize("case", BURIED, ids=[c.label for c in BURIED])
async def test_older_better_matches_outrank_a_full_window(
    client: httpx.AsyncClient,
    indexes: str,
    fixed_clock: int,
    monkeypatch: pytest.MonkeyPatch,
    case: Buried,
) -> None:
    monkeypatch.setattr(directory, "WINDOW", 3)
    rows = [replace(c, issued_at=NOW - n * DAY) for n, c in enumerate(case.newer, 1)]
    rows += [replace(c, issued_at=NOW - (50 + n) * DAY) for n, c in enumerate(case.older)]
    ids = await insert(rows)
    expected = oracle(list(zip(ids, rows, strict=True)), {"q": case.q}, NOW)
    assert await _walk(client, q=case.q, limit=2) == expected


async def test_a_cursor_survives_rows_issued_after_it(
    client: httpx.AsyncClient, db: None, fixed_clock: int
) -> None:
    ids = await insert([Cert(f"Care {n}", issued_at=NOW - n * DAY) for n in range(1, 6)])
    first = await _search(client, q="care", limit=2)
    await insert([Cert("Care newest", issued_at=NOW)])
    rest = await _search(client, q="care", limit=10, cursor=first["next_cursor"])
    assert [i["certificate_id"] for i in first["items"] + rest["items"]] == ids


# -- bad input -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Bad:
    """A query string the directory refuses, with the status and the parameter it names."""

    label: str
    params: dict[str, str]
    status: int
    field: str


BAD = [
    Bad("unknown status", {"status": "lapsed"}, 400, "status"),
    Bad("tier outside A-C", {"tier": "D"}, 400, "tier"),
    Bad("lower-case tier", {"tier": "a"}, 400, "tier"),
    Bad("q over 100 characters", {"q": "x" * 101}, 400, "q"),
    Bad("q with a control character", {"q": "care\x00"}, 400, "q"),
    Bad("criteria set without a version", {"criteria_set": "kitemark-core"}, 400, "criteria_set"),
    Bad("criteria set version 0", {"criteria_set": "kitemark-core/0"}, 400, "criteria_set"),
    Bad("empty supplier", {"supplier": ""}, 400, "supplier"),
    Bad("blank supplier", {"supplier": "   "}, 400, "supplier"),
    Bad("limit 0", {"limit": "0"}, 400, "limit"),
    Bad("limit over 100", {"limit": "101"}, 400, "limit"),
    Bad("limit not a number", {"limit": "ten"}, 400, "limit"),
    Bad("cursor not base64 JSON", {"cursor": "!!!"}, 422, "cursor"),
    Bad("cursor of another list", {"cursor": "eyJwIjoxfQ"}, 422, "cursor"),  # {"p":1}
]


@pytest.mark.parametrize("case", BAD, ids=[c.label for c in BAD])
async def test_bad_parameters_are_problems_naming_the_parameter(
    client: httpx.AsyncClient, db: None, case: Bad
) -> None:
    response = await client.get("/v1/directory", params=case.params)
    assert response.status_code == case.status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["field"] == case.field


@pytest.mark.parametrize(
    "position",
    [
        {"r": 4, "t": NOW, "id": "MKR-0001-TEST-0"},  # no such rank
        {"r": 1, "t": NOW, "id": "MKR-0001-TEST-0"},  # a ranked cursor for an empty q
        {"r": 0, "t": -1, "id": "MKR-0001-TEST-0"},
        {"r": 0, "t": NOW, "id": 7},
        {"r": 0, "t": NOW, "id": "X" * 17},
    ],
)
async def test_forged_cursors_are_refused(
    client: httpx.AsyncClient, db: None, position: dict[str, Any]
) -> None:
    from registry.services.paging import encode_cursor

    q = {"q": "care"} if position["r"] == 4 else {}
    response = await client.get("/v1/directory", params={**q, "cursor": encode_cursor(position)})
    assert response.status_code == 422, response.text
    assert response.json()["field"] == "cursor"
