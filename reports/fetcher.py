"""The only URL fetcher the renderers use: it refuses every URL (DESIGN §4, "rendering fetches
nothing").

Our templates inline their CSS, charts and QR code, so a correct render asks for nothing. Any
request therefore comes from text that should have been escaped, or from a template bug; it is
refused (WeasyPrint then renders without the resource) and recorded on ``refused`` so tests and
callers can tell it happened.
"""

from __future__ import annotations

from typing import NoReturn

from weasyprint.urls import URLFetcher

# An absolute URL of a scheme nothing can fetch: a relative reference in the document resolves to
# a bare path, which the fetcher refuses like everything else, and WeasyPrint never turns a
# missing base URL into the current directory.
INERT_BASE_URL = "about:blank"


class FetchRefused(ValueError):
    """A renderer asked for a URL; rendering fetches nothing."""


class RefusingFetcher(URLFetcher):  # type: ignore[misc]  # weasyprint is untyped
    """A WeasyPrint 70 ``URLFetcher`` that refuses every URL: file, http(s), data, relative."""

    def __init__(self) -> None:
        # fail_on_errors=False: a refusal drops the resource instead of aborting the render, so a
        # hostile string can at worst lose an image, never deny the certificate.
        super().__init__(allowed_protocols=frozenset(), allow_redirects=False, fail_on_errors=False)
        self.refused: list[str] = []

    def fetch(self, url: str, headers: object = None) -> NoReturn:
        """Record the URL and refuse it."""
        self.refused.append(url[:200])
        raise FetchRefused(f"expected no fetch while rendering, got a request for {url[:80]!r}")
