"""create_app(): wiring only — routes, error mapping, OpenAPI, database pool."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from litestar import Litestar
from litestar.openapi import OpenAPIConfig
from litestar.openapi.spec import Components, SecurityScheme
from litestar.plugins.problem_details import ProblemDetailsPlugin
from piccolo.engine.postgres import PostgresEngine

from registry.api.audit import AuditController
from registry.api.certificates import CertificateController, IssuanceController, jwks, trust
from registry.api.client_address import rate_limit_config
from registry.api.criteria import CriteriaSetController
from registry.api.directory import DirectoryController
from registry.api.dossiers import DossierController, ProductController
from registry.api.identity import OrganisationController, TokenController, UserController
from registry.api.problems import EXCEPTION_HANDLERS
from registry.api.reviews import (
    InterestController,
    ModerationController,
    QueueController,
    ReviewController,
)
from registry.api.system import MeController, health
from registry.api.verify import VerifyController
from registry.blobs import close_blob_store
from registry.db import engine
from registry.services import issuance, queue
from registry.settings import Settings, get_settings
from registry.web import pages

log = logging.getLogger("registry.app")


@asynccontextmanager
async def _database_pool(_: Litestar) -> AsyncIterator[None]:
    db = engine()
    if isinstance(db, PostgresEngine):
        await db.start_connection_pool()
        try:
            yield
        finally:
            await db.close_connection_pool()
    else:
        yield


@asynccontextmanager
async def _periodic_work(app: Litestar) -> AsyncIterator[None]:
    """Periodic work: expire review leases; retry certificate issuances that are due."""
    interval = get_settings().lease_sweep_interval_seconds

    async def loop() -> None:
        while True:
            await asyncio.sleep(interval)
            try:
                await queue.sweep_expired_leases()
                await issuance.issue_pending()
            except Exception:  # the sweeper must outlive a failed round
                log.exception("periodic work failed")

    task = asyncio.create_task(loop())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def openapi_config() -> OpenAPIConfig:
    """The OpenAPI document's metadata; /schema serves it with its docs UIs."""
    return OpenAPIConfig(
        title="Kitemark Registry",
        version="1",
        description=(
            "Suppliers submit evidence dossiers, reviewers score them against published criteria,"
            " and the registry issues signed 'good to go' certificates anyone can verify."
        ),
        path="/schema",
        components=Components(
            security_schemes={
                "BearerToken": SecurityScheme(
                    type="http", scheme="bearer", description="An API token: mkr_…"
                )
            }
        ),
    )


def create_app(settings: Settings | None = None) -> Litestar:
    """Build the ASGI application."""
    settings = settings or get_settings()
    return Litestar(
        route_handlers=[
            health,
            MeController,
            OrganisationController,
            UserController,
            TokenController,
            AuditController,
            CriteriaSetController,
            ProductController,
            DossierController,
            QueueController,
            ReviewController,
            InterestController,
            ModerationController,
            CertificateController,
            IssuanceController,
            DirectoryController,
            jwks,
            trust,
            VerifyController,
            pages.router,
        ],
        middleware=[rate_limit_config(settings).middleware],
        plugins=[ProblemDetailsPlugin()],
        exception_handlers=EXCEPTION_HANDLERS,
        request_max_body_size=settings.max_body_bytes,
        openapi_config=openapi_config(),
        template_config=pages.template_config(),
        lifespan=[_database_pool, _periodic_work],
        on_shutdown=[close_blob_store],
    )
