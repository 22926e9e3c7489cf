"""The API documentation UI, served whole by the registry itself so it works offline.

Litestar's render plugins load their JavaScript from CDNs by default, so ``/schema`` rendered
blank without internet. Swagger UI 5 (the first to read OpenAPI 3.1) comes here from the
``swagger-ui-bundle-v2`` package instead, mounted under the documentation's own path at a
versioned URL, so its files can be cached for good. Redoc, Scalar, RapiDoc and Stoplight
Elements are not offered: no package we install ships their files.
"""

from __future__ import annotations

from litestar import Router
from litestar.datastructures import CacheControlHeader
from litestar.openapi.plugins import SwaggerRenderPlugin
from litestar.static_files import create_static_files_router
from swagger_ui_bundle import swagger_ui_path

# "swagger-ui-5.31.0": a new version of the package is a new URL, never a stale cached file.
ASSETS = swagger_ui_path.name


class OfflineSwaggerUI(SwaggerRenderPlugin):
    """Swagger UI at the documentation root and ``/swagger``, its files served by this app."""

    def __init__(self, docs_path: str) -> None:
        assets = f"{docs_path.rstrip('/')}/{ASSETS}"
        super().__init__(
            js_url=f"{assets}/swagger-ui-bundle.js",
            css_url=f"{assets}/swagger-ui.css",
            standalone_preset_js_url=f"{assets}/swagger-ui-standalone-preset.js",
            favicon=f"<link rel='icon' type='image/png' href='{assets}/favicon-32x32.png'>",
            path=["/", "/swagger"],
        )

    def receive_router(self, router: Router) -> None:
        """Add the route of Swagger UI's files beside its page (and its OAuth2 redirect page)."""
        super().receive_router(router)
        router.register(
            create_static_files_router(
                path=f"/{ASSETS}",
                directories=[swagger_ui_path],
                name="swagger-ui-assets",
                cache_control=CacheControlHeader(public=True, max_age=31_536_000, immutable=True),
                include_in_schema=False,
            )
        )
