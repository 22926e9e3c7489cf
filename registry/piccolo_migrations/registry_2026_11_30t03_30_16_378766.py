from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from enum import Enum
from piccolo.columns.column_types import Varchar

ID = "2026-11-30T03:30:16:378766"
VERSION = "1.38.0"
DESCRIPTION = "choices for the moderation case and signing key statuses"


async def forwards():
    manager = MigrationManager(
        migration_id=ID, app_name="registry", description=DESCRIPTION
    )

    manager.alter_column(
        table_class_name="ModerationCase",
        tablename="moderation_case",
        column_name="status",
        db_column_name="status",
        params={
            "choices": Enum("CaseStatus", {"open": "open", "decided": "decided"})
        },
        old_params={"choices": None},
        column_class=Varchar,
        old_column_class=Varchar,
        schema=None,
    )

    manager.alter_column(
        table_class_name="SigningKey",
        tablename="signing_key",
        column_name="status",
        db_column_name="status",
        params={
            "choices": Enum(
                "SigningKeyStatus",
                {"active": "active", "retired": "retired", "revoked": "revoked"},
            )
        },
        old_params={"choices": None},
        column_class=Varchar,
        old_column_class=Varchar,
        schema=None,
    )

    return manager
