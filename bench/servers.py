"""The server the HTTP benchmarks load: the registry as production builds it, plus a bare route.

``GET /bare`` is the ceiling for ``GET /v1/verify/{id}``: a Litestar handler returning a small
constant, served by the same process, event loop, middleware stack and uvicorn as the registry's
own routes. Run with ``python -m uvicorn bench.servers:app_with_bare --factory``; the registry's
environment (``REGISTRY_*``) comes from the benchmark that starts it.
"""

from __future__ import annotations

from litestar import Litestar, get

from registry.app import create_app


@get("/bare", include_in_schema=False)
async def bare() -> dict[str, str]:
    """A small constant: what the framework costs with no work behind it."""
    return {"status": "ok"}


def app_with_bare() -> Litestar:
    """``registry.app.create_app()`` with ``GET /bare`` registered on the same app."""
    app = create_app()
    app.register(bare)
    return app
