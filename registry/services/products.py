"""A supplier's products: registered once, assessed in dossiers."""

from __future__ import annotations

import uuid

import msgspec

from registry import clock
from registry.db import write_transaction
from registry.domain.audit_chain import AuditTag
from registry.domain.canonical import canonical_json
from registry.domain.criteria_document import ProductProfile
from registry.domain.dates import as_datetime
from registry.domain.identity import Principal, Role
from registry.domain.names import check_name
from registry.errors import Forbidden, NotFound
from registry.records import ProductRecord, fetch, fetch_one
from registry.services import audit
from registry.services.audit import Actor
from registry.services.paging import decode_time_id_cursor, encode_time_id_cursor
from registry.tables import Product
from schemas.dossier import ProductCreate, ProductOut, ProductPage


def supplier_organisation(principal: Principal) -> uuid.UUID:
    """The organisation a supplier member acts for; others may not act as a supplier."""
    if not principal.has_role(Role.supplier_member) or principal.organisation_id is None:
        raise Forbidden("only a supplier organisation's members can do this")
    return uuid.UUID(principal.organisation_id)


def product_out(row: ProductRecord) -> ProductOut:
    """A product row as the API shows it."""
    return ProductOut(
        id=str(row.id),
        organisation_id=str(row.organisation),
        name=row.name,
        intended_purpose=row.intended_purpose,
        profile=msgspec.json.decode(row.profile, type=ProductProfile),
        created_at=as_datetime(row.created_at),
    )


async def create_product(principal: Principal, request: ProductCreate) -> ProductOut:
    """Register a product for the caller's organisation."""
    organisation = supplier_organisation(principal)
    check_name(request.name, "name")
    row = ProductRecord(
        id=uuid.uuid4(),
        organisation=organisation,
        name=request.name,
        intended_purpose=request.intended_purpose,
        profile=canonical_json(msgspec.to_builtins(request.profile)).decode(),
        created_at=clock.now(),
    )
    async with write_transaction():
        await Product.insert(Product(**msgspec.structs.asdict(row)))
        await audit.record(
            Actor(principal.user_id),
            AuditTag.product_created,
            f"product:{row.id}",
            {"organisation": str(organisation), "name": request.name},
        )
    return product_out(row)


async def product_row(principal: Principal, product_id: str) -> ProductRecord:
    """A product of the caller's own organisation; foreign or unknown is 404."""
    try:
        key = uuid.UUID(product_id)
    except ValueError as e:
        raise NotFound(f"no product {product_id!r}") from e
    row = await fetch_one(Product.select().where(Product.id == key), ProductRecord)
    if row is None or str(row.organisation) != principal.organisation_id:
        raise NotFound(f"no product {product_id!r}")
    return row


async def get_product(principal: Principal, product_id: str) -> ProductOut:
    """One product, scoped to the caller's organisation."""
    return product_out(await product_row(principal, product_id))


async def list_products(principal: Principal, cursor: str | None, limit: int) -> ProductPage:
    """The caller's organisation's products, oldest first."""
    organisation = supplier_organisation(principal)
    query = (
        Product.select()
        .where(Product.organisation == organisation)
        .order_by(Product.created_at, Product.id)
    )
    if cursor:
        t, key = decode_time_id_cursor(cursor)
        query = query.where(
            (Product.created_at > t) | ((Product.created_at == t) & (Product.id > key))
        )
    rows = await fetch(query.limit(limit + 1), ProductRecord)
    items = [product_out(row) for row in rows[:limit]]
    more = len(rows) > limit
    return ProductPage(
        items=items,
        next_cursor=(
            encode_time_id_cursor(rows[limit - 1].created_at, items[-1].id) if more else None
        ),
    )
