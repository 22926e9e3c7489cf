"""Signing in with a real Chromium against a real server: the invitation link, the sign-in
form (CSRF token and session cookie as a browser handles them), the account page at phone
width, and signing out."""

from __future__ import annotations

import asyncio
import tempfile
import uuid
from pathlib import Path
from typing import Any

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import WebDriverWait

from registry.domain.identity import Role
from registry.services import invitations
from registry.services.audit import SYSTEM
from schemas.identity import InvitationCreate
from tests.live_server import live_server
from tests.people import sign_in_browser
from tests.web.test_browser import CHROMEDRIVER, CHROMIUM, SCREENSHOTS, WAIT_SECONDS, _driver
from tests.world import World

PASSWORD = "quartz-meadow-harbour-3"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not (CHROMIUM.exists() and CHROMEDRIVER.exists()),
        reason="needs Debian's chromium and chromium-driver",
    ),
]


def _drive(base: str, token: str, email: str, profile: str) -> list[str]:
    driver = _driver(profile)
    seen: list[str] = []
    try:
        wait = WebDriverWait(driver, WAIT_SECONDS)
        driver.get(f"{base}/invitations/{token}")
        driver.find_element(By.ID, "password").send_keys(PASSWORD)
        driver.find_element(By.CSS_SELECTOR, "main button[type=submit]").click()
        wait.until(expected_conditions.url_contains("/sign-in?notice=password-set"))
        seen.append(driver.find_element(By.TAG_NAME, "main").text)
        sign_in_browser(driver, base, email, PASSWORD)
        wait.until(expected_conditions.url_contains("/account"))
        driver.set_window_size(390, 844)
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        driver.save_screenshot(str(SCREENSHOTS / "account-390.png"))
        seen.append(driver.find_element(By.TAG_NAME, "main").text)
        width: Any = driver.execute_script("return document.documentElement.scrollWidth")
        seen.append(f"width={width}")
        driver.find_element(By.CSS_SELECTOR, "form[action='/sign-out'] button").click()
        wait.until(expected_conditions.url_contains("/sign-in?notice=signed-out"))
        driver.get(f"{base}/account")
        wait.until(expected_conditions.url_contains("/sign-in?next=/account"))
        seen.append(driver.current_url)
    finally:
        driver.quit()
    return seen


async def test_sign_in_in_a_real_browser(world: World) -> None:
    email = f"browser-{uuid.uuid4().hex[:8]}@a.example"
    invited = await invitations.invite(
        SYSTEM,
        None,
        InvitationCreate(
            email=email, name="Browser", role=Role.supplier_member, organisation_id=world.org_a
        ),
    )
    with tempfile.TemporaryDirectory(prefix="mkr-sign-in-") as scratch:
        profile = Path(scratch) / "profile"
        profile.mkdir()
        async with live_server() as server:
            seen = await asyncio.wait_for(
                asyncio.to_thread(_drive, server.base, invited.token, email, str(profile)),
                timeout=180,
            )
        stderr = server.stderr.decode(errors="replace")
    assert "Your password is set" in seen[0]
    assert email in seen[1]
    assert seen[2] == "width=390", seen[2]  # nothing wider than a phone's screen
    assert "/sign-in?next=/account" in seen[3]
    assert "Traceback" not in stderr, stderr[-3000:]
