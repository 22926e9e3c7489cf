"""The API documentation UI works offline: every file its page needs is served by the registry."""

from __future__ import annotations

import asyncio
import re
import tempfile
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from registry.api.docs_ui import ASSETS
from tests.live_server import live_server

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
PAGES = ["/schema", "/schema/", "/schema/swagger"]


class _References(HTMLParser):
    """Every URL a page makes the browser load: scripts, stylesheets, icons, images."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[tuple[str, str]] = []  # (kind, url)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        named = dict(attrs)
        if tag == "script" and named.get("src"):
            self.found.append(("script", str(named["src"])))
        elif tag == "link" and named.get("href"):
            self.found.append((str(named.get("rel") or "link"), str(named["href"])))
        elif tag in {"img", "iframe"} and named.get("src"):
            self.found.append((tag, str(named["src"])))


def references(html: str) -> list[tuple[str, str]]:
    parser = _References()
    parser.feed(html)
    return parser.found


EXPECTED_TYPE = {
    "script": "text/javascript",
    "stylesheet": "text/css",
    "icon": "image/png",
}


@pytest.mark.parametrize("page", PAGES)
async def test_the_docs_page_loads_only_same_origin_files(
    client: httpx.AsyncClient, page: str
) -> None:
    response = await client.get(page)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    host = urlsplit(str(client.base_url)).netloc
    # No URL to another host anywhere: in a tag, in the inline script or in the document.
    others = set(re.findall(r"https?://([^/\s\"'<>\\]+)", response.text)) - {host}
    assert not others, f"the page names other hosts: {others}"

    found = references(response.text)
    assert {kind for kind, _ in found} == set(EXPECTED_TYPE), found
    for kind, url in found:
        assert re.match(r"/[^/]", url), f"{kind} {url} is not a path on this server"
        asset = await client.get(url)
        assert asset.status_code == 200, url
        assert asset.headers["content-type"].startswith(EXPECTED_TYPE[kind]), (url, asset.headers)
        assert asset.content, url


async def test_the_ui_reads_openapi_3_1(client: httpx.AsyncClient) -> None:
    # Swagger UI before 5.0 answers an OpenAPI 3.1 document with "unable to render".
    document = (await client.get("/schema/openapi.json")).json()
    assert document["openapi"].startswith("3.1")
    name, _, version = ASSETS.rpartition("-")
    assert name == "swagger-ui"
    assert int(version.split(".")[0]) >= 5


async def test_the_assets_are_versioned_and_cached(client: httpx.AsyncClient) -> None:
    asset = await client.get(f"/schema/{ASSETS}/swagger-ui-bundle.js")
    assert "immutable" in asset.headers["cache-control"]
    missing = await client.get(f"/schema/{ASSETS}/no-such-file.js")
    assert missing.status_code == 404


def _render(base: str, profile: str) -> dict[str, Any]:
    """Open the docs in headless Chromium that can resolve no host but 127.0.0.1."""
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    options = Options()
    options.binary_location = str(CHROMIUM)
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--no-first-run",
        # Offline as far as the page can tell: every other host fails to resolve.
        "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
        f"--user-data-dir={profile}",
    ):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(executable_path=str(CHROMEDRIVER)), options=options)
    try:
        driver.set_page_load_timeout(20)
        driver.get(f"{base}/schema")
        title = WebDriverWait(driver, 20).until(
            lambda d: d.find_element(By.CSS_SELECTOR, ".swagger-ui .info .title"),
            "Swagger UI never rendered the document",
        )
        return {
            "title": title.text,
            "operations": len(driver.find_elements(By.CSS_SELECTOR, ".opblock")),
            "errors": [e.text for e in driver.find_elements(By.CSS_SELECTOR, ".errors-wrapper")],
        }
    finally:
        driver.quit()


@pytest.mark.slow
@pytest.mark.skipif(
    not (CHROMIUM.exists() and CHROMEDRIVER.exists()),
    reason="needs Debian's chromium and chromium-driver: apt-get install chromium chromium-driver",
)
async def test_swagger_ui_renders_with_no_other_host_reachable(db: None) -> None:
    pytest.importorskip("selenium.webdriver", reason="needs selenium (dev extra)")
    with tempfile.TemporaryDirectory() as profile:
        async with live_server() as server:
            shown = await asyncio.wait_for(
                asyncio.to_thread(_render, server.base, profile), timeout=120
            )
    assert shown["title"].startswith("Kitemark Registry")
    assert shown["operations"] > 10
    assert shown["errors"] == []
