"""The registry's tables. Times are integer UTC seconds, JSON is canonical text.

Integer times and text JSON keep SQLite and PostgreSQL byte-for-byte alike, which the
hash chains depend on.
"""

from __future__ import annotations

from piccolo.columns import (
    UUID,
    BigInt,
    Boolean,
    ForeignKey,
    OnDelete,
    Text,
    Varchar,
)
from piccolo.table import Table

from registry.domain.identity import OrganisationKind, Role


class Organisation(Table, tablename="organisation"):
    """A supplier of health technology, or an assessor organisation employing reviewers."""

    id = UUID(primary_key=True)
    name = Varchar(length=200, unique=True)
    kind = Varchar(length=16, choices=OrganisationKind)
    created_at = BigInt()


class User(Table, tablename="registry_user"):
    """A person acting through API tokens, with one role."""

    id = UUID(primary_key=True)
    email = Varchar(length=254, unique=True)
    name = Varchar(length=200)
    role = Varchar(length=32, choices=Role)
    organisation = ForeignKey(references=Organisation, null=True, on_delete=OnDelete.restrict)
    active = Boolean(default=True)
    created_at = BigInt()


class ApiToken(Table, tablename="api_token"):
    """An API token, stored only as its SHA-256; the secret is shown once at creation."""

    id = UUID(primary_key=True)
    user = ForeignKey(references=User, on_delete=OnDelete.restrict)
    label = Varchar(length=100)
    display_prefix = Varchar(length=16)
    token_hash = Varchar(length=64, unique=True, index=True)
    created_at = BigInt()
    expires_at = BigInt(null=True, default=None)
    revoked_at = BigInt(null=True, default=None)
    last_used_at = BigInt(null=True, default=None)


class AuditEvent(Table, tablename="audit_event"):
    """One link of the hash-chained audit trail; rows are only ever appended."""

    position = BigInt(unique=True, index=True)
    tag = Varchar(length=64)
    actor = Varchar(length=64)
    subject = Varchar(length=128)
    at = BigInt()
    details = Text()
    prev_hash = Varchar(length=64)
    hash = Varchar(length=64)


class AuditHead(Table, tablename="audit_head"):
    """The chain's newest position and hash, updated with every append.

    Without it, deleting the newest events would leave a shorter chain that still verifies.
    """

    chain = Varchar(length=32, unique=True)
    position = BigInt()
    hash = Varchar(length=64)
