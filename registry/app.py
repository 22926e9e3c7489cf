"""create_app(): wiring only — routes, error mapping, OpenAPI, database pool."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from litestar import Litestar
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import JsonRenderPlugin, YamlRenderPlugin
from litestar.openapi.spec import Components, SecurityScheme
from litestar.plugins.problem_details import ProblemDetailsPlugin
from piccolo.engine.postgres import PostgresEngine

from registry.api.audit import AuditController
from registry.api.certificates import CertificateController, IssuanceController, jwks, trust
from registry.api.client_address import rate_limit_config
from registry.api.criteria import CriteriaSetController
from registry.api.directory import DirectoryController
from registry.api.docs_ui import OfflineSwaggerUI
from registry.api.dossiers import DossierController, ProductController
from registry.api.idempotency import IdempotencyMiddleware, document_idempotency
from registry.api.identity import (
    InvitationController,
    OrganisationController,
    TokenController,
    UserController,
)
from registry.api.problems import EXCEPTION_HANDLERS
from registry.api.request_body import refuse_bad_json_body
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
from registry.services import blob_sweep, idempotency, issuance, queue, sessions
from registry.settings import Settings, get_settings
from registry.web import account, auth, pages, review_pages

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


async def _every(seconds: float, job: Callable[[], Awaitable[object]]) -> None:
    """Run ``job`` every ``seconds``, for ever; a failed round is logged and the next one runs."""
    while True:
        await asyncio.sleep(seconds)
        try:
            await job()
        except Exception:  # periodic work must outlive a failed round
            log.exception("periodic job %s failed", getattr(job, "__name__", job))


async def _leases_and_issuances() -> None:
    await queue.sweep_expired_leases()
    await issuance.issue_pending()


async def _blob_sweep() -> None:
    await blob_sweep.periodic_sweep(get_settings().blob_sweep_grace_seconds)


@asynccontextmanager
async def _periodic_work(app: Litestar) -> AsyncIterator[None]:
    """Periodic work: expire review leases and retry issuances that are due (every
    REGISTRY_LEASE_SWEEP_INTERVAL); sweep unreferenced blobs (every REGISTRY_BLOB_SWEEP_INTERVAL);
    purge idempotency keys older than 24 hours and expired web sessions (plain DELETEs, harmless
    in several processes).
    Each other job elects one process where several share a database."""
    settings = get_settings()
    tasks = [
        asyncio.create_task(_every(settings.lease_sweep_interval_seconds, _leases_and_issuances)),
        asyncio.create_task(_every(settings.blob_sweep_interval_seconds, _blob_sweep)),
        asyncio.create_task(
            _every(settings.lease_sweep_interval_seconds, idempotency.purge_expired)
        ),
        asyncio.create_task(
            _every(settings.lease_sweep_interval_seconds, sessions.STORE.delete_expired)
        ),
    ]
    try:
        yield
    finally:
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task


def openapi_config() -> OpenAPIConfig:
    """The OpenAPI document's metadata; /schema serves it (``openapi.json``, ``openapi.yaml``)
    and Swagger UI, whose files the app serves itself (``registry.api.docs_ui``).

    Each operation's description is its handler's docstring.
    """
    docs_path = "/schema"
    return OpenAPIConfig(
        title="Kitemark Registry",
        version="1",
        description=(
            "Suppliers submit evidence dossiers, reviewers score them against published criteria,"
            " and the registry issues signed 'good to go' certificates anyone can verify."
        ),
        path=docs_path,
        render_plugins=[OfflineSwaggerUI(docs_path), JsonRenderPlugin(), YamlRenderPlugin()],
        use_handler_docstrings=True,
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
    app = Litestar(
        route_handlers=[
            health,
            MeController,
            OrganisationController,
            UserController,
            TokenController,
            InvitationController,
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
            review_pages.router,
            account.router,
        ],
        middleware=[rate_limit_config(settings).middleware, IdempotencyMiddleware()],
        plugins=[ProblemDetailsPlugin()],
        exception_handlers={**EXCEPTION_HANDLERS, **auth.EXCEPTION_HANDLERS},
        csrf_config=auth.csrf_config(settings),
        stores={"sessions": sessions.STORE},
        before_request=refuse_bad_json_body,  # strict, bounded JSON bodies (request_body.py)
        request_max_body_size=settings.max_body_bytes,
        openapi_config=openapi_config(),
        template_config=pages.template_config(),
        lifespan=[_database_pool, _periodic_work],
        on_shutdown=[close_blob_store],
    )
    document_idempotency(app)  # the Idempotency-Key header, on the operations it applies to
    return app
