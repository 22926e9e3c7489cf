"""Directory search at 100,000 certificates (DESIGN §10: p99 ≤ 50 ms).

Ours: ``GET /v1/directory`` for a fixed mix of searches (names, words, a supplier, typos,
wildcards, filters, a second page). Ceiling: ``GET /bare`` of ``bench.servers.app_with_bare``,
a Litestar handler returning a constant on the same app (same middleware), interleaved with
ours request by request. Both go in-process through ``httpx.ASGITransport`` (no sockets, no
server), one request at a time, over the connection pool ``bench.common.database`` opens.

The database is fresh (``bench.common.environment``: a temporary SQLite file, or with
``--postgres URL`` a database of its own on that server, dropped afterwards). It is migrated,
then seeded in bulk straight through the driver (batched ``executemany`` / ``COPY``) with
100,000 realistic certificates, in issue order as a live registry has them, and the organisation,
product, dossier and revision rows their foreign keys need. Then the directory's proposed search
indexes (``registry.services.directory.SEARCH_INDEXES``) are created, unless
``--without-indexes``. Loops are bounded by ``--runs`` and by ``--max-seconds``.

    .venv/bin/python -m bench.directory [--rows 100000] [--runs 30] [--postgres URL]
"""

from __future__ import annotations

import asyncio
import base64
import os
import random
import statistics
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import asyncpg

from bench.common import (
    Environment,
    argument_parser,
    database,
    environment,
    percentile,
    print_bar,
    print_configuration,
    quiet_logs,
)

BAR_P99_MS = 50.0
DAY = 86_400
NOW = 1_790_000_000  # a fixed "now" (2026-09-21), so every run seeds the same rows
SEED = 20261125

# Words for names and purposes: enough of them that a word matches hundreds or thousands of
# certificates, as real category words ("triage", "diabetes") do, and a made-up name a handful.
PREFIXES = [
    "Medi", "Care", "Health", "Clini", "Pati", "Vita", "Nova", "Derma", "Cardio", "Neuro", "Pulse",
    "Well", "Thera", "Ortho", "Pharma", "Opti", "Resp", "Gluco", "Sleep", "Mind", "Kin", "Ever",
    "Blue", "Green", "Bright", "Clear", "Quick", "Smart", "True", "Open", "Ara", "Bel", "Cor",
    "Dyn", "Eko", "Fen", "Gal", "Hal", "Ion", "Jun",
]  # fmt: skip
STEMS = [
    "Track", "Flow", "Link", "Sense", "Path", "Point", "Hub", "Note", "Scan", "View", "Check",
    "Guide", "Mate", "Line", "Bridge", "Desk", "Cloud", "Net", "Wise", "Ly", "Sync", "Loop",
    "Base", "Core", "Works", "Ware", "Beat", "Dock", "Gate", "Lens",
]  # fmt: skip
FUNCTIONS = [
    "Booking", "Triage", "Dermatology", "Remote Monitoring", "Records", "Prescribing",
    "Messaging", "Scheduler", "Diabetes Coach", "Physio", "Mental Health", "Sleep Diary",
    "Asthma Review", "Cardiology", "Consultations", "Referrals", "Pathways", "Inhaler Tracker",
    "Wound Care", "Rota", "Lab Results", "Symptom Checker", "Maternity", "Vaccinations",
    "Hearing Test", "Eye Screening", "Falls Prevention", "Weight Management", "Smoking Cessation",
    "Pain Diary", "Dementia Support", "Stroke Rehab", "COPD Plan", "Allergy Clinic", "Dental",
]  # fmt: skip
SUPPLIER_WORDS = [
    "Acme", "Northern", "Riverside", "Apex", "Beacon", "Cedar", "Harbour", "Summit", "Orchard",
    "Pinnacle", "Meridian", "Lighthouse", "Evergreen", "Granite", "Willow", "Falcon", "Horizon",
    "Silverline", "Keystone", "Oakfield", "Brightwater", "Kestrel", "Medivance", "Zenith",
    "Castle", "Thistle", "Heather", "Aurora", "Bramble", "Copper",
]  # fmt: skip
SUPPLIER_KINDS = [
    "Digital", "Health", "Software", "Systems", "Labs", "Informatics", "Technologies", "Solutions",
]  # fmt: skip
SUPPLIER_FORMS = ["Ltd", "Limited", "plc", "LLP", "Group", "UK Ltd"]
AUDIENCES = [
    "patients", "GP practice staff", "clinicians", "carers", "pharmacists", "practice managers",
    "community nurses", "people with long-term conditions", "parents of young children",
    "care home staff", "physiotherapists", "health visitors",
]  # fmt: skip
VERBS = [
    "book", "record", "review", "monitor", "share", "manage", "track", "triage", "schedule",
    "report", "plan",
]  # fmt: skip
OBJECTS = [
    "appointments", "symptoms", "medication", "test results", "care plans",
    "blood glucose readings", "skin lesion photographs", "referrals", "sleep patterns",
    "blood pressure", "peak flow", "wound photographs", "hearing thresholds", "vaccination records",
    "pain scores", "weight", "mood", "exercise", "inhaler use", "visual acuity",
]  # fmt: skip
SETTINGS = [
    "primary care", "community services", "the home", "urgent care", "hospital outpatients",
    "care homes", "pharmacies", "schools",
]  # fmt: skip
CRITERIA_SETS = ["kitemark-core/1", "kitemark-core/2", "kitemark-core/3"]
STATEMENT_BYTES = 520  # a compact JWS of the statement's claims is about 700 characters


@dataclass(frozen=True)
class Query:
    """One search in the mix: a label for the report and its query string parameters."""

    label: str
    params: dict[str, str]


def _uuid(rng: random.Random) -> uuid.UUID:
    return uuid.UUID(int=rng.getrandbits(128), version=4)


def _purpose(rng: random.Random) -> str:
    return " ".join(
        f"Helps {rng.choice(AUDIENCES)} {rng.choice(VERBS)} {rng.choice(OBJECTS)}"
        f" in {rng.choice(SETTINGS)}."
        for _ in range(rng.randint(1, 6))
    )


def _id(n: int) -> str:
    # Unique, certificate-shaped (MKR-XXXX-XXXX-C); the check character does not matter here.
    alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
    digits = "".join(alphabet[(n >> (5 * i)) & 31] for i in reversed(range(8)))
    return f"MKR-{digits[:4]}-{digits[4:]}-0"


def seed_rows(count: int) -> dict[str, list[dict[str, Any]]]:
    """Rows for every table a certificate needs, certificates ordered by issue time."""
    rng = random.Random(SEED)  # noqa: S311 — made-up rows, reproducibly
    created = NOW - 4 * 365 * DAY
    organisations: list[dict[str, Any]] = [
        {
            "id": _uuid(rng),
            "name": f"{rng.choice(SUPPLIER_WORDS)} {rng.choice(SUPPLIER_KINDS)}"
            f" {rng.choice(SUPPLIER_FORMS)} {n}",
            "kind": "supplier",
            "created_at": created,
        }
        for n in range(max(1, count // 50))
    ]
    products: list[dict[str, Any]] = []
    for _ in range(max(1, count // 2)):
        organisation = rng.choice(organisations)
        products.append(
            {
                "id": _uuid(rng),
                "organisation": organisation["id"],
                "name": f"{rng.choice(PREFIXES)}{rng.choice(STEMS)} {rng.choice(FUNCTIONS)}",
                "intended_purpose": _purpose(rng),
                "profile": "{}",
                "created_at": created,
            }
        )
    supplier_of = {o["id"]: o["name"] for o in organisations}
    issue_times = sorted(NOW - rng.randint(0, 3 * 365 * DAY) for _ in range(count))
    rows: dict[str, list[dict[str, Any]]] = {
        "organisation": organisations,
        "product": products,
        "dossier": [],
        "revision": [],
        "certificate": [],
    }
    for n, issued in enumerate(issue_times):
        product = products[rng.randrange(len(products))]
        dossier, revision = _uuid(rng), _uuid(rng)
        version = f"{rng.randint(1, 9)}.{rng.randint(0, 20)}"
        criteria_set = rng.choice(CRITERIA_SETS)
        rows["dossier"].append(
            {
                "id": dossier,
                "organisation": product["organisation"],
                "product": product["id"],
                "product_version": version,
                "summary": "",
                "criteria_set": criteria_set,
                "current_revision": 1,
                "row_version": 1,
                "created_at": issued - 30 * DAY,
                "updated_at": issued,
            }
        )
        rows["revision"].append(
            {
                "id": revision,
                "natural_key": f"{dossier}:1",
                "dossier": dossier,
                "number": 1,
                "status": "approved",
                "digest": f"{rng.getrandbits(256):064x}",
                "frozen": "{}",
                "created_at": issued - 30 * DAY,
                "submitted_at": issued - 20 * DAY,
                "decided_at": issued,
                "outcome": "approved",
                "decision": "{}",
            }
        )
        status, reason, note, changed = "valid", None, None, None
        roll = rng.random()
        if roll < 0.05:
            status, reason, note = "suspended", "safety_concern", "Suspended pending an incident."
        elif roll < 0.09:
            status, reason, note = "revoked", "evidence_lapsed", "The DSPT submission lapsed."
        elif roll < 0.15:
            status, reason, note = "superseded", "reassessed", "Reassessed for a new version."
        if reason:
            changed = issued + rng.randint(1, 300) * DAY
        supplier = supplier_of[product["organisation"]]
        sections = [
            [f"S{k}", f"Section {k} of the criteria", rng.randint(60, 100), 60, True, "met"]
            for k in range(1, 6)
        ]
        rows["certificate"].append(
            {
                "id": _uuid(rng),
                "certificate_id": _id(n),
                "revision": revision,
                "dossier": dossier,
                "product": product["id"],
                "organisation": product["organisation"],
                "product_name": product["name"],
                "product_version": version,
                "supplier_name": supplier,
                "intended_purpose": product["intended_purpose"],
                "esf_tier": rng.choice("ABC"),
                "device_class": rng.choice(["none", "I", "IIa", "IIb"]),
                "criteria_set": criteria_set,
                "criteria_sha256": f"{rng.getrandbits(256):064x}",
                "dossier_sha256": f"{rng.getrandbits(256):064x}",
                "outcomes": str(sections).replace("'", '"').replace("True", "true"),
                "issued_at": issued,
                "valid_until": issued + 365 * DAY,
                "kid": base64.urlsafe_b64encode(rng.randbytes(32)).decode().rstrip("="),
                "statement": base64.urlsafe_b64encode(rng.randbytes(STATEMENT_BYTES)).decode(),
                "pdf_sha256": f"{rng.getrandbits(256):064x}",
                "status": status,
                "status_reason": reason,
                "status_note": note,
                "status_changed_at": changed,
                "superseded_by": _id(n + 1) if status == "superseded" else None,
                # As issuance builds it: lower-cased product, supplier and purpose.
                "search_text": " ".join(
                    [product["name"], supplier, product["intended_purpose"]]
                ).lower(),
            }
        )
    return rows


TABLE_ORDER = ("organisation", "product", "dossier", "revision", "certificate")


def _batches(rows: list[dict[str, Any]], size: int) -> Iterator[list[dict[str, Any]]]:
    for start in range(0, len(rows), size):
        yield rows[start : start + size]


async def seed_database(
    data: dict[str, list[dict[str, Any]]], postgres_url: str | None, indexes: list[str]
) -> float:
    """Bulk-insert the rows straight through the driver (batched); returns the seconds taken."""
    started = time.perf_counter()
    if postgres_url:
        connection = await asyncpg.connect(postgres_url)
        try:
            for table in TABLE_ORDER:
                columns = list(data[table][0])
                for batch in _batches(data[table], 10_000):
                    await connection.copy_records_to_table(
                        table,
                        records=[tuple(row[c] for c in columns) for row in batch],
                        columns=columns,
                    )
            for statement in indexes:
                await connection.execute(statement)
            await connection.execute("VACUUM ANALYZE")  # autovacuum's steady state
        finally:
            await connection.close()
    else:
        import sqlite3

        from registry.settings import get_settings

        database = sqlite3.connect(get_settings().sqlite_path)
        try:
            with database:
                for table in TABLE_ORDER:
                    columns = list(data[table][0])
                    # Table and column names are our own constants, never input.
                    insert = (
                        f"INSERT INTO {table} ({', '.join(columns)})"  # noqa: S608
                        f" VALUES ({', '.join('?' * len(columns))})"
                    )
                    for batch in _batches(data[table], 10_000):
                        database.executemany(
                            insert,
                            [
                                tuple(
                                    str(v) if isinstance(v, uuid.UUID) else v
                                    for v in (row[c] for c in columns)
                                )
                                for row in batch
                            ],
                        )
                for statement in indexes:
                    database.execute(statement)
        finally:
            database.close()
    return time.perf_counter() - started


def query_mix(rows: dict[str, list[dict[str, Any]]]) -> list[Query]:
    """What practice staff type: names, words, suppliers, typos, filters and a second page."""
    certificates = rows["certificate"]
    one = certificates[len(certificates) // 3]
    return [
        Query("newest first", {}),
        Query("name prefix 'medi'", {"q": "medi"}),
        Query("name word 'booking'", {"q": "booking"}),
        Query("supplier word 'kestrel'", {"q": "kestrel"}),
        Query("purpose words 'peak flow'", {"q": "peak flow"}),
        Query("broad 'care'", {"q": "care"}),
        Query("one letter 'a'", {"q": "a"}),
        Query("exact product name", {"q": one["product_name"]}),
        Query("no match 'zzyzx'", {"q": "zzyzx"}),
        Query("wildcards '50%_off'", {"q": "50%_off"}),
        Query("100-char no match", {"q": ("lorem ipsum dolor " * 6)[:100]}),
        Query("'triage' valid tier C", {"q": "triage", "status": "valid", "tier": "C"}),
        Query("supplier filter", {"supplier": one["supplier_name"].upper()}),
        Query("'derm' expired", {"q": "derm", "status": "expired"}),
        Query("'monitor' criteria set", {"q": "monitor", "criteria_set": CRITERIA_SETS[1]}),
        Query("revoked", {"status": "revoked"}),
        Query("'medi' page 2", {"q": "medi", "cursor": ""}),  # cursor filled in from page 1
    ]


async def _time(client: Any, path: str, params: dict[str, str]) -> tuple[float, Any]:
    started = time.perf_counter()
    response = await client.get(path, params=params)
    elapsed = time.perf_counter() - started
    if response.status_code != 200:
        raise RuntimeError(f"{path} {params} -> {response.status_code}: {response.text[:300]}")
    return elapsed, response


async def run(env: Environment, rows: int, runs: int, warmup: int, max_seconds: float,
              with_indexes: bool) -> None:  # fmt: skip
    """Seed, then time the mix and the bare route, interleaved, through one transport."""
    import httpx

    from bench.servers import app_with_bare
    from registry.services.directory import SEARCH_INDEXES

    engine = "postgres" if env.database else "sqlite"
    indexes = list(SEARCH_INDEXES[engine]) if with_indexes else []
    async with database():
        data = seed_rows(rows)
        seconds = await seed_database(data, os.environ.get("REGISTRY_DATABASE_URL"), indexes)
        mix = query_mix(data)
        del data
        app = app_with_bare()
        quiet_logs()
        print_configuration(
            "directory search: GET /v1/directory vs GET /bare, same app, in process",
            {
                "engine": env.describe(),
                "data": f"{rows:,} certificates (+ their organisations, products, dossiers,"
                f" revisions), bulk-inserted through the driver in {seconds:.1f} s",
                "search indexes": f"{len(indexes)} statements of SEARCH_INDEXES (proposed"
                " migration), created after seeding"
                if indexes
                else "none (--without-indexes): the schema as migrated",
                "transport": "httpx.ASGITransport, in process, one request at a time",
                "queries": f"{len(mix)} in the mix, default page size (20)",
                "runs": f"{runs} timed passes over the mix after {warmup} warm-up passes"
                f" (at most {max_seconds:.0f} s)",
                "rate limit": "load generator's address 127.0.0.1 exempt"
                " (REGISTRY_RATE_LIMIT_EXEMPT)",
                "load average": "{:.2f} {:.2f} {:.2f}".format(*os.getloadavg()),
            },
        )
        for statement in indexes:
            print(f"  {statement}")
        samples: dict[str, list[float]] = {q.label: [] for q in mix}
        found: dict[str, int] = {}
        ceiling: list[float] = []
        passes = 0
        # httpx types the ASGI app more loosely than Litestar types its __call__.
        transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
        # bench.common.database() holds the PostgreSQL pool the app's lifespan would open.
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            first = await client.get("/v1/directory", params={"q": "medi"})
            mix[-1].params["cursor"] = first.json()["next_cursor"]
            deadline = time.monotonic() + max_seconds
            for run_number in range(warmup + runs):
                if time.monotonic() > deadline:
                    break
                for query in mix:
                    elapsed, response = await _time(client, "/v1/directory", query.params)
                    bare, _ = await _time(client, "/bare", {})
                    if run_number >= warmup:
                        samples[query.label].append(elapsed)
                        ceiling.append(bare)
                        found[query.label] = len(response.json()["items"])
                passes += run_number >= warmup
    if not ceiling:
        raise RuntimeError(f"no timed pass finished within {max_seconds} s")
    every = [s for values in samples.values() for s in values]
    print(f"figures ({passes} timed passes, {len(every)} directory requests):")
    print(f"  {'query':34} {'items':>5} {'p50 ms':>8} {'max ms':>8}")
    for label, values in samples.items():
        p50, worst = statistics.median(values) * 1000, max(values) * 1000
        print(f"  {label:34} {found[label]:5d} {p50:8.2f} {worst:8.2f}")
    p50, p99 = percentile(every, 50) * 1000, percentile(every, 99) * 1000
    c50, c99 = percentile(ceiling, 50) * 1000, percentile(ceiling, 99) * 1000
    print(f"  GET /v1/directory (all)            p50 {p50:8.2f} ms   p99 {p99:8.2f} ms")
    print(f"  GET /bare (ceiling)                p50 {c50:8.2f} ms   p99 {c99:8.2f} ms")
    print(
        f"  ratio to the ceiling               p50 {p50 / c50:6.1f}×       p99 {p99 / c99:6.1f}×"
        f"   (throughput, one at a time: {c50 / p50:.3f} × bare)"
    )
    print(f"  load average at end                {'{:.2f} {:.2f} {:.2f}'.format(*os.getloadavg())}")
    print_bar(
        f"directory search p99 at {rows:,} certificates",
        f"{p99:.2f} ms",
        f"≤ {BAR_P99_MS:.0f} ms",
        p99 <= BAR_P99_MS,
    )


def main() -> None:
    """Parse options, make the environment, run (a missed bar does not change the exit status)."""
    parser = argument_parser("Directory search at 100,000 certificates against a bare route")
    parser.add_argument("--rows", type=int, default=100_000, help="certificates (default 100000)")
    parser.add_argument("--runs", type=int, default=30, help="timed passes (default 30)")
    parser.add_argument("--warmup", type=int, default=3, help="warm-up passes (default 3)")
    parser.add_argument(
        "--max-seconds", type=float, default=300, help="time bound on the passes (default 300)"
    )
    parser.add_argument(
        "--without-indexes",
        action="store_true",
        help="measure the schema as migrated, without the proposed search indexes",
    )
    args = parser.parse_args()
    with environment(args.postgres) as env:
        asyncio.run(
            run(env, args.rows, args.runs, args.warmup, args.max_seconds, not args.without_indexes)
        )


if __name__ == "__main__":
    main()
