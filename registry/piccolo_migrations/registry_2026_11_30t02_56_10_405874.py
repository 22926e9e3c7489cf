"""Give every approved revision that existed before issuance states one (hand-written).

An approved revision with a certificate is ``issued``; one without is ``pending`` and due at once,
so the periodic issuer picks it up. The statement is plain SQL both engines read alike (UUIDs are
copied as stored); it only inserts rows for revisions that have none, so it is safe to re-run.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine.finder import engine_finder

ID = "2026-11-30T02:56:10:405874"
VERSION = "1.38.0"
DESCRIPTION = "issuance state for earlier approvals"

BACKFILL = (
    "INSERT INTO issuance (revision, dossier, state, attempts, reason, next_attempt_at, "
    "lease_until, certificate_id, created_at, updated_at) "
    "SELECT r.id, r.dossier, CASE WHEN c.certificate_id IS NULL THEN 'pending' ELSE 'issued' END, "
    "0, NULL, NULL, NULL, c.certificate_id, COALESCE(r.decided_at, r.created_at), "
    "COALESCE(r.decided_at, r.created_at) "
    "FROM revision r LEFT JOIN certificate c ON c.revision = r.id "
    "WHERE r.status = 'approved' "
    "AND NOT EXISTS (SELECT 1 FROM issuance i WHERE i.revision = r.id)"
)


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="registry", description=DESCRIPTION)

    async def backfill() -> None:
        await engine_finder().run_ddl(BACKFILL)

    manager.add_raw(backfill)
    return manager
