"""The practice pages in a real headless Chromium against a real server, with screenshots.

Debian's ``chromium`` and ``chromium-driver`` packages are used as installed (no browser
download). Data is seeded in-process first; the server subprocess inherits the test database
through the environment. Screenshots go to ``test-artifacts/screenshots/``.
"""

from __future__ import annotations

import asyncio
import base64
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.live_server import live_server
from tests.tiny_set import approve_tiny, publish_tiny
from tests.world import World

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
WAIT_SECONDS = 20
PHONE = (360, 800)

pytestmark = [
    pytest.mark.usefixtures("signing"),
    pytest.mark.skipif(
        not (CHROMIUM.exists() and CHROMEDRIVER.exists()),
        reason="needs Debian's chromium and chromium-driver (/usr/bin/chromium, "
        "/usr/bin/chromedriver): apt-get install chromium chromium-driver",
    ),
]

webdriver = pytest.importorskip("selenium.webdriver", reason="needs selenium (dev extra)")


@dataclass(frozen=True)
class Seeded:
    good: str
    suspended: str
    jws: str
    pdf: Path


def _driver(profile: str) -> Any:
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    options = Options()
    options.binary_location = str(CHROMIUM)
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--window-size=1280,900",
        f"--user-data-dir={profile}",
    ):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(executable_path=str(CHROMEDRIVER)), options=options)
    driver.set_page_load_timeout(WAIT_SECONDS)
    driver.set_script_timeout(WAIT_SECONDS)
    return driver


class Browser:
    """A thin layer over Selenium: wait for things, read text, save screenshots."""

    def __init__(self, driver: Any, base: str) -> None:
        self.driver = driver
        self.base = base

    def open(self, path: str) -> None:
        self.driver.get(self.base + path)

    def wait(self, condition: Callable[[Any], Any], what: str) -> Any:
        from selenium.webdriver.support.ui import WebDriverWait

        return WebDriverWait(self.driver, WAIT_SECONDS).until(condition, f"waiting for {what}")

    def find(self, css: str) -> Any:
        from selenium.webdriver.common.by import By

        return self.wait(lambda d: d.find_element(By.CSS_SELECTOR, css), css)

    def text(self, css: str) -> str:
        """The element's text as a reader gets it (hidden helper text included)."""
        return " ".join(str(self.find(css).get_attribute("textContent")).split())

    def texts(self, css: str) -> list[str]:
        """The text of every element matching ``css`` (none is an empty list)."""
        from selenium.webdriver.common.by import By

        return [
            " ".join(str(e.get_attribute("textContent")).split())
            for e in self.driver.find_elements(By.CSS_SELECTOR, css)
        ]

    def phone(self) -> None:
        width, height = PHONE
        self.driver.execute_cdp_cmd(
            "Emulation.setDeviceMetricsOverride",
            {"width": width, "height": height, "deviceScaleFactor": 2, "mobile": True},
        )

    def desktop(self) -> None:
        self.driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})

    def screenshot(self, name: str, *, full_page: bool = False) -> Path:
        """Save the viewport (what is seen first) or the whole page as a PNG."""
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{name}.png"
        params: dict[str, Any] = {"format": "png"}
        if full_page:
            size = self.driver.execute_script(
                "var e = document.documentElement;"
                "return {width: e.clientWidth, height: e.scrollHeight};"
            )
            params |= {
                "captureBeyondViewport": True,
                "clip": {
                    "x": 0,
                    "y": 0,
                    "width": size["width"],
                    "height": size["height"],
                    "scale": 1,
                },
            }
        shot = self.driver.execute_cdp_cmd("Page.captureScreenshot", params)
        path.write_bytes(base64.b64decode(shot["data"]))
        return path

    def fits_width(self, width: int) -> None:
        """Nothing scrolls sideways: name the elements that stick out if anything does."""
        wider = self.driver.execute_script(
            "var w = arguments[0], out = [];"
            "document.querySelectorAll('body *').forEach(function (e) {"
            "  var r = e.getBoundingClientRect();"
            "  if (r.right > w + 0.5) out.push(e.tagName + '.' + e.className + ' ' + r.right);"
            "});"
            "return [document.documentElement.scrollWidth, out.slice(0, 5)];",
            width,
        )
        assert wider[0] <= width, f"the page is {wider[0]} px wide: {wider[1]}"


def _drive(base: str, seeded: Seeded, profile: str) -> list[Path]:
    """Everything a practice manager does, in order; returns the screenshots taken."""
    from selenium.webdriver.support import expected_conditions as ec

    shots: list[Path] = []
    driver = _driver(profile)
    browser = Browser(driver, base)
    try:
        # 1. The form: type the ID as someone reading it over the phone might, and submit.
        browser.open("/v")
        assert browser.text("h1") == "Check a certificate"
        shots.append(browser.screenshot("01-form-desktop"))
        field = browser.find("#certificate-id")
        field.send_keys(seeded.good.lower().replace("-", " "))
        browser.find("#by-id ~ form button[type=submit]").click()
        browser.wait(ec.url_to_be(f"{base}/v/{seeded.good}"), "the result page")
        assert browser.text("#verdict-headline") == "Good to go"
        assert "Booking Assistant" in browser.text("#verdict")
        shots.append(browser.screenshot("02-result-good-desktop"))

        # 2. Upload the certificate PDF through the file input.
        browser.open("/v")
        browser.find("#certificate-pdf").send_keys(str(seeded.pdf))
        browser.find("#by-pdf ~ form button[type=submit]").click()
        browser.wait(ec.title_contains("Good to go"), "the PDF result")
        assert browser.text("#verdict-headline") == "Good to go"
        assert seeded.pdf.name in browser.text(".context")
        shots.append(browser.screenshot("03-result-pdf-upload-desktop"))

        # 3. A QR code landing: the script checks the paper copy's signed statement too.
        browser.open(f"/v/{seeded.good}#{seeded.jws}")
        box = browser.find("#paper-check")
        browser.wait(lambda d: box.get_attribute("data-state") in {"good", "bad", "unknown"}, "JS")
        assert box.get_attribute("data-state") == "good", box.text
        assert "The paper copy is genuine" in browser.text("#paper-check")
        assert browser.text("#verdict-headline") == "Good to go"

        # ... and a forged paper copy is called out (signature bytes changed).
        head, payload, signature = seeded.jws.split(".")
        forged = f"{head}.{payload}.{'A' if signature[0] != 'A' else 'B'}{signature[1:]}"
        driver.get("about:blank")  # a fresh scan is a fresh load, not a same-page hash change
        browser.open(f"/v/{seeded.good}#{forged}")
        box = browser.find("#paper-check")
        browser.wait(lambda d: box.get_attribute("data-state") in {"good", "bad", "unknown"}, "JS")
        assert box.get_attribute("data-state") == "bad", box.text
        assert "did not verify" in browser.text("#paper-check")
        # One combined verdict: the genuine ID's green never shows for a forged paper copy.
        assert browser.find("#verdict").get_attribute("data-verdict") == "not_good_to_go"
        assert "verdict--bad" in browser.find("#verdict").get_attribute("class")
        assert browser.text("#verdict-headline").startswith("Not good to go")
        assert "does not match the registry" in browser.text("#verdict-headline")
        assert "Do not rely on this paper copy" in browser.text("#advice")
        shots.append(browser.screenshot("03b-forged-paper-copy"))

        # 4. On a phone (360 px wide): the verdict is seen first; nothing scrolls sideways.
        browser.phone()
        browser.open(f"/v/{seeded.good}#{seeded.jws}")
        box = browser.find("#paper-check")
        browser.wait(lambda d: box.get_attribute("data-state") == "good", "the paper check")
        browser.fits_width(PHONE[0])
        verdict = browser.find("#verdict")
        assert verdict.rect["y"] + verdict.rect["height"] <= PHONE[1], (
            "the verdict is above the fold"
        )
        shots.append(browser.screenshot("04-phone-result-good-qr"))
        shots.append(browser.screenshot("05-phone-result-good-qr-full", full_page=True))

        browser.open(f"/v/{seeded.suspended}")
        assert browser.text("#verdict-headline") == "Not good to go: suspended"
        assert "because of a safety concern" in browser.text("#verdict-why")
        browser.fits_width(PHONE[0])
        shots.append(browser.screenshot("06-phone-result-suspended"))
        shots.append(browser.screenshot("07-phone-result-suspended-full", full_page=True))

        browser.open("/v")
        browser.fits_width(PHONE[0])
        shots.append(browser.screenshot("08-phone-form-full", full_page=True))
        mistyped = seeded.good[:-1] + ("0" if seeded.good[-1] != "0" else "1")
        browser.find("#certificate-id").send_keys(mistyped)
        browser.find("#by-id ~ form button[type=submit]").click()
        browser.wait(ec.title_contains("mistyped"), "the mistyped page")
        assert "looks mistyped" in browser.text("#certificate-id-error")
        shots.append(browser.screenshot("09-phone-mistyped"))

        # 5. The directory on a phone: search, and read each status with its reason.
        browser.open("/directory")
        browser.find("#q").send_keys("prescriptions")
        browser.find("form[role=search] button[type=submit]").click()
        browser.wait(ec.title_contains("Search results"), "the directory's results")
        results = browser.texts("li.result")
        assert len(results) == 1, results
        assert "Repeat Prescriptions" in results[0]
        assert "Not good to go: suspended" in results[0]
        assert "because of a safety concern" in results[0]
        browser.fits_width(PHONE[0])
        shots.append(browser.screenshot("10-phone-directory-search", full_page=True))

        browser.desktop()
        browser.open("/directory")
        results = browser.texts("li.result")
        assert len(results) == 2, results
        shots.append(browser.screenshot("11-directory-desktop", full_page=True))

        # 6. Without JavaScript the whole journey still works; only the paper-copy note is absent.
        driver.execute_cdp_cmd("Emulation.setScriptExecutionDisabled", {"value": True})
        browser.open("/v")
        browser.find("#certificate-id").send_keys(seeded.suspended)
        browser.find("#by-id ~ form button[type=submit]").click()
        browser.wait(ec.title_contains("Not good to go"), "the result without JavaScript")
        driver.get("about:blank")
        browser.open(f"/v/{seeded.good}#{seeded.jws}")
        assert browser.text("#verdict-headline") == "Good to go"
        assert browser.find("#paper-check").get_attribute("data-state") is None
        assert not browser.find("#paper-check").is_displayed()
    finally:
        driver.quit()
    return shots


async def _seed(client: httpx.AsyncClient, world: World, folder: Path) -> Seeded:
    await publish_tiny()
    good = await approve_tiny(client, world, name="Booking Assistant")
    suspended = await approve_tiny(client, world, name="Repeat Prescriptions")
    changed = await client.post(
        f"/v1/certificates/{suspended}/status",
        json={
            "action": "suspend",
            "reason": "safety_concern",
            "note": "Reports of duplicated prescriptions are being investigated.",
        },
        headers=world.admin.headers,
    )
    assert changed.status_code == 200, changed.text
    jws = (await client.get(f"/v1/certificates/{good}/statement")).text.strip()
    pdf = folder / f"{good}.pdf"
    download = await client.get(f"/v1/certificates/{good}/pdf")
    assert download.status_code == 200
    pdf.write_bytes(download.content)
    return Seeded(good=good, suspended=suspended, jws=jws, pdf=pdf)


@pytest.mark.slow
async def test_pages_in_a_real_browser(client: httpx.AsyncClient, world: World) -> None:
    with tempfile.TemporaryDirectory(prefix="mkr-browser-") as scratch:
        folder = Path(scratch)
        seeded = await _seed(client, world, folder)
        async with live_server() as server:
            profile = folder / "chromium-profile"
            profile.mkdir()
            shots = await asyncio.wait_for(
                asyncio.to_thread(_drive, server.base, seeded, str(profile)), timeout=240
            )
        stderr = server.stderr.decode(errors="replace")
    assert all(shot.stat().st_size > 1000 for shot in shots)
    assert "Traceback" not in stderr, stderr[-3000:]
