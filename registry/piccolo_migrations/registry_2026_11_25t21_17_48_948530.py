"""Directory search indexes (hand-written: Piccolo cannot express trigram, expression or FTS5).

The statements are a frozen copy of registry.services.directory.SEARCH_INDEXES as this
migration landed; later changes need a new migration.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine.finder import engine_finder
from piccolo.engine.postgres import PostgresEngine

ID = "2026-11-25T21:17:48:948530"
VERSION = "1.38.0"
DESCRIPTION = "directory search indexes"

POSTGRES = (
    'CREATE EXTENSION IF NOT EXISTS pg_trgm',
    'CREATE INDEX IF NOT EXISTS certificate_product_name_trgm ON certificate USING gin (lower(product_name) gin_trgm_ops)',
    'CREATE INDEX IF NOT EXISTS certificate_supplier_name_trgm ON certificate USING gin (lower(supplier_name) gin_trgm_ops)',
    'CREATE INDEX IF NOT EXISTS certificate_search_text_trgm ON certificate USING gin (search_text gin_trgm_ops)',
    'CREATE INDEX IF NOT EXISTS certificate_product_name_prefix ON certificate (lower(product_name) text_pattern_ops)',
    'CREATE INDEX IF NOT EXISTS certificate_directory_window ON certificate (issued_at, status, valid_until, esf_tier, criteria_set)',
)

SQLITE = (
    'CREATE INDEX IF NOT EXISTS certificate_product_name_prefix ON certificate (lower(product_name))',
    'CREATE INDEX IF NOT EXISTS certificate_supplier_name_lower ON certificate (lower(supplier_name))',
    'CREATE INDEX IF NOT EXISTS certificate_directory_window ON certificate (issued_at, status, valid_until, esf_tier, criteria_set)',
    "CREATE VIRTUAL TABLE IF NOT EXISTS certificate_search USING fts5( certificate_id UNINDEXED, product_name, supplier_name, search_text, tokenize = 'trigram')",
    'CREATE TRIGGER IF NOT EXISTS certificate_search_insert AFTER INSERT ON certificate BEGIN INSERT INTO certificate_search (certificate_id, product_name, supplier_name, search_text) VALUES (new.certificate_id, new.product_name, new.supplier_name, new.search_text); END',
    'CREATE TRIGGER IF NOT EXISTS certificate_search_update AFTER UPDATE OF certificate_id, product_name, supplier_name, search_text ON certificate BEGIN DELETE FROM certificate_search WHERE certificate_id = old.certificate_id; INSERT INTO certificate_search (certificate_id, product_name, supplier_name, search_text) VALUES (new.certificate_id, new.product_name, new.supplier_name, new.search_text); END',
    'CREATE TRIGGER IF NOT EXISTS certificate_search_delete AFTER DELETE ON certificate BEGIN DELETE FROM certificate_search WHERE certificate_id = old.certificate_id; END',
    'INSERT INTO certificate_search (certificate_id, product_name, supplier_name, search_text) SELECT certificate_id, product_name, supplier_name, search_text FROM certificate WHERE certificate_id NOT IN (SELECT certificate_id FROM certificate_search)',
    'ANALYZE',
)


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="registry", description=DESCRIPTION)

    async def create() -> None:
        db = engine_finder()
        for statement in POSTGRES if isinstance(db, PostgresEngine) else SQLITE:
            await db.run_ddl(statement)

    manager.add_raw(create)
    return manager
