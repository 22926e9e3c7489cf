"""The reviewer's workbench in a real headless Chromium against a real server.

Three people sign in through the real sign-in page: a reviewer claims, opens an evidence file,
scores every criterion (each score saved by the page's script as it is chosen) and submits; a
second reviewer does the same with the keyboard alone (TAB, SPACE, ENTER and typed text, no
clicks) and disagrees; the lead moderates and the page names the certificate issued. axe-core
(node_modules, from package-lock.json) checks every page on the way: no serious or critical
violations. Screenshots of the queue, the review page and moderation go to docs/.
"""

from __future__ import annotations

import asyncio
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from registry import clock
from registry.domain.identity import Role
from registry.services.audit import SYSTEM
from registry.services.criteria import builtin_document, publish
from tests.live_server import live_server
from tests.people import person_with_password, sign_in_browser
from tests.web.workbench import submitted_dossier
from tests.world import World

ROOT = Path(__file__).resolve().parents[2]
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
DOCS = ROOT / "docs"
CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
NARROW = 390
PASSWORD = "correct horse battery staple 42"

pytestmark = [
    pytest.mark.usefixtures("signing"),
    pytest.mark.slow,
    pytest.mark.skipif(
        not (CHROMIUM.exists() and CHROMEDRIVER.exists()),
        reason="needs Debian's chromium and chromium-driver (system-packages.txt)",
    ),
    pytest.mark.skipif(not AXE.exists(), reason="needs axe-core: run `make node-modules` (npm ci)"),
]


@dataclass(frozen=True)
class Cast:
    reviewer: str
    reviewer_2: str
    lead: str


class Workbench:
    """The practice pages' browser helper, plus axe, keyboard-only moves and a sign-in."""

    def __init__(self, browser: Any) -> None:
        self.browser = browser
        self.driver = browser.driver
        self.checked: list[str] = []

    def sign_in(self, email: str) -> None:
        from selenium.webdriver.support import expected_conditions as ec

        self.driver.delete_all_cookies()
        self.browser.open("/sign-in")
        self.axe("sign-in")
        sign_in_browser(self.driver, self.browser.base, email, PASSWORD)
        self.browser.wait(ec.none_of(ec.url_contains("/sign-in")), "signed in")

    def axe(self, name: str) -> None:
        """Run axe-core on the page: no serious or critical violation."""
        self.driver.execute_script(AXE.read_text(encoding="utf-8"))
        violations = self.driver.execute_async_script(
            "var done = arguments[arguments.length - 1];"
            "axe.run(document, {resultTypes: ['violations']})"
            ".then(function (r) { done(r.violations); })"
            ".catch(function (e) { done([{id: 'axe-error', impact: 'critical',"
            " nodes: [{target: [String(e)]}]}]); });"
        )
        bad = [
            f"{v['id']} ({v['impact']}): {[n['target'] for n in v['nodes']][:3]}"
            for v in violations
            if v.get("impact") in {"serious", "critical"}
        ]
        assert not bad, f"axe on {name}: {bad}"
        self.checked.append(name)

    def narrow(self, name: str) -> None:
        """At 390 px wide nothing scrolls sideways."""
        self.driver.execute_cdp_cmd(
            "Emulation.setDeviceMetricsOverride",
            {"width": NARROW, "height": 844, "deviceScaleFactor": 2, "mobile": True},
        )
        try:
            self.browser.fits_width(NARROW)
        except AssertionError as e:
            raise AssertionError(f"{name}: {e}") from e
        finally:
            self.browser.desktop()

    def shoot(self, name: str, *, full_page: bool = False) -> Path:
        path: Path = self.browser.screenshot(name, full_page=full_page)
        DOCS.mkdir(exist_ok=True)
        (DOCS / f"{name}.png").write_bytes(path.read_bytes())
        return path

    def outcome(self) -> str:
        return str(self.browser.text("#outcome"))

    def wait_scored(self) -> str:
        count = self.browser.find("#progress-count")

        def all_scored(_: Any) -> bool:
            done, _of, total = count.text.partition(" of ")
            return bool(total) and done == total

        self.browser.wait(all_scored, "every score saved")
        # Each section's own count (contents list and section hint) followed the saves too.
        for section in self.browser.driver.find_elements("css selector", "form[data-section]"):
            code = section.get_attribute("data-section")
            criteria = len(section.find_elements("css selector", "[data-code]"))
            for shown in self.browser.driver.find_elements(
                "css selector", f"[data-section-count='{code}']"
            ):
                assert shown.text == str(criteria), (code, shown.text, criteria)
        return str(count.text)


def _review_with_the_mouse(bench: Workbench) -> None:
    """Claim, open an evidence file, pick full marks everywhere, submit (script on)."""
    browser = bench.browser
    browser.open("/review")
    assert browser.text("h1") == "Review queue"
    assert "Within target" in browser.text(".queue")
    assert "Overdue by 5 working days" in browser.text(".queue__item--overdue")
    bench.axe("queue")
    bench.narrow("queue")
    bench.shoot("review-queue")
    browser.find("form[action='/review/claim'] button").click()
    browser.wait(lambda d: "done=claimed" in d.current_url, "the review page")
    assert "Claimed." in bench.outcome()
    bench.axe("review page")
    bench.narrow("review page")
    review_url = bench.driver.current_url.partition("?")[0]

    # Submitting before anything is scored: the error summary, focused, lists what is missing.
    browser.find("#submit form button[type=submit]").click()
    browser.wait(lambda d: d.title.startswith("Error: "), "the error summary")
    summary = browser.find("#error-summary")
    assert bench.driver.switch_to.active_element == summary
    assert "Choose a recommendation" in browser.text("#error-summary")
    bench.axe("review page with errors")
    browser.open(review_url.removeprefix(browser.base))

    # An evidence file opens inline in the browser's own viewer (a PDF), or downloads.
    link = browser.find(".evidence a")
    href = link.get_attribute("href")
    answer = bench.driver.execute_async_script(
        "var done = arguments[1];"
        "fetch(arguments[0], {credentials: 'same-origin'}).then(function (r) {"
        "  done([r.status, r.headers.get('content-type'), r.headers.get('content-disposition')]);"
        "});",
        href,
    )
    assert answer[0] == 200, answer
    assert answer[1] == "application/pdf"
    assert answer[2].startswith("inline")
    link.click()
    browser.wait(lambda d: "/evidence/" in d.current_url, "the evidence file")
    bench.driver.back()
    browser.wait(lambda d: "/evidence/" not in d.current_url, "back on the review page")

    from selenium.webdriver.common.by import By

    groups = dict.fromkeys(
        e.get_attribute("name")
        for e in bench.driver.find_elements(By.CSS_SELECTOR, "input[name^='result-']")
    )
    for name in groups:
        options = bench.driver.find_elements(By.CSS_SELECTOR, f"input[name='{name}']")
        best = next((o for o in options if o.get_attribute("value") == "pass"), None)
        best = best or max(
            (o for o in options if o.get_attribute("value").isdigit()),
            key=lambda o: int(o.get_attribute("value")),
        )
        label = bench.driver.find_element(
            By.CSS_SELECTOR, f"label[for='{best.get_attribute('id')}']"
        )
        bench.driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", label)
        label.click()
    said = bench.wait_scored()
    assert said == f"{len(groups)} of {len(groups)}"
    # The progress line stays in view while the page scrolls (position: sticky).
    progress = browser.find("#progress")
    assert progress.value_of_css_property("position") == "sticky"
    assert (
        bench.driver.execute_script("return arguments[0].getBoundingClientRect().top;", progress)
        <= 1
    )
    bench.driver.execute_script("window.scrollTo(0, 0);")
    bench.shoot("review-page")

    browser.find("#recommendation-0").click()  # Approve
    browser.find("#summary").send_keys("Everything is evidenced and current.")
    browser.find("#submit form button[type=submit]").click()
    browser.wait(lambda d: "/review/mine" in d.current_url, "my reviews")
    assert bench.outcome().startswith("Submitted. Waiting for 1 more independent review"), (
        bench.outcome()
    )
    bench.axe("my reviews")
    bench.narrow("my reviews")


def _review_with_the_keyboard(bench: Workbench) -> None:
    """The second review with TAB, SPACE, ENTER and typing alone: the first option of every
    result (a pass, or a 0 with its rationale), so the two reviews disagree."""
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.keys import Keys

    driver = bench.driver
    browser = bench.browser

    def press(*keys: str) -> Any:
        ActionChains(driver).send_keys(*keys).perform()
        return driver.switch_to.active_element

    def tab_to(wanted: Any, what: str, limit: int = 80) -> Any:
        for _ in range(limit):
            focused = press(Keys.TAB)
            if wanted(focused):
                return focused
        raise AssertionError(f"TAB never reached {what}")

    browser.open("/review")
    tab_to(lambda e: e.text == "Claim next", "Claim next")
    press(Keys.ENTER)
    browser.wait(lambda d: "done=claimed" in d.current_url, "the review page")
    chosen: dict[str, str] = {}
    for _ in range(3000):
        focused = press(Keys.TAB)
        tag, name = focused.tag_name, focused.get_attribute("name") or ""
        if tag == "input" and name.startswith("result-") and name not in chosen:
            press(Keys.SPACE)
            chosen[name] = str(focused.get_attribute("value"))
        elif tag == "textarea" and name.startswith("rationale-"):
            if chosen.get("result-" + name.removeprefix("rationale-")) == "0":
                focused.send_keys("No evidence of this at all.")
        elif tag == "input" and name == "recommendation" and name not in chosen:
            press(Keys.SPACE)
            chosen[name] = str(focused.get_attribute("value"))
        elif tag == "textarea" and name == "summary":
            focused.send_keys("Most of the evidence is missing.")
        elif tag == "button" and focused.text == "Submit review":
            break
    else:
        raise AssertionError("TAB never reached the Submit review button")
    bench.wait_scored()
    press(Keys.ENTER)
    browser.wait(lambda d: "/review/mine" in d.current_url, "my reviews")
    assert "waiting for a lead reviewer to moderate" in bench.outcome(), bench.outcome()


def _moderate(bench: Workbench) -> str:
    browser = bench.browser
    from selenium.webdriver.common.by import By

    browser.open("/review/moderation")
    assert browser.text("h1") == "Moderation"
    bench.axe("moderation list")
    bench.narrow("moderation list")
    browser.find(".queue__title a").click()
    browser.wait(lambda d: re.search(r"/review/moderation/[0-9a-f-]{36}$", d.current_url), "case")
    assert "Reviewers differ" in browser.text("main")
    bench.axe("moderation case")
    bench.narrow("moderation case")
    bench.shoot("moderation")
    for block in bench.driver.find_elements(By.CSS_SELECTOR, ".criterion--differs"):
        options = block.find_elements(By.CSS_SELECTOR, "input[type=radio]")
        best = next((o for o in options if o.get_attribute("value") == "pass"), None)
        best = best or max(
            (o for o in options if o.get_attribute("value").isdigit()),
            key=lambda o: int(o.get_attribute("value")),
        )
        bench.driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", best)
        best.click()
        block.find_element(By.TAG_NAME, "textarea").send_keys("Read the evidence myself.")
    browser.find("#decide #recommendation-0").click()
    browser.find("#decide #summary").send_keys("The evidence supports approval.")
    browser.find("#decide button[type=submit]").click()
    browser.wait(
        lambda d: d.current_url.endswith("/review/moderation") or "done=" in d.current_url,
        "decided",
    )
    said = bench.outcome()
    found = re.search(r"certificate (MKR-[0-9A-Z-]+) is issued", said)
    assert found, said
    bench.axe("moderation list after a decision")
    return found.group(1)


def _drive(base: str, cast: Cast, profile: str) -> tuple[str, list[str]]:
    from tests.web.test_browser import Browser, _driver

    driver = _driver(profile)
    bench = Workbench(Browser(driver, base))
    try:
        bench.sign_in(cast.reviewer)
        _review_with_the_mouse(bench)
        bench.sign_in(cast.reviewer_2)
        _review_with_the_keyboard(bench)
        bench.sign_in(cast.lead)
        certificate = _moderate(bench)
        bench.browser.open(f"/v/{certificate}")
        assert bench.browser.text("#verdict-headline") == "Good to go"
        bench.axe("certificate result (/v)")
        bench.browser.open("/directory")
        bench.axe("directory")
    finally:
        driver.quit()
    return certificate, bench.checked


async def test_review_moderate_and_certify_in_a_real_browser(
    client: httpx.AsyncClient, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    await publish(SYSTEM, builtin_document())
    # One item submitted three weeks ago (15 working days: overdue against the target of 10),
    # one today. Claims take the oldest first, so the reviews below are of the overdue one.
    real_now = clock.now
    monkeypatch.setattr(clock, "now", lambda: real_now() - 21 * 86_400)
    await submitted_dossier(client, world.supplier_b, name="Appointment Booker")
    monkeypatch.setattr(clock, "now", real_now)
    await submitted_dossier(client, world.supplier_a, name="Triage Helper")
    cast = Cast(
        reviewer=(
            await person_with_password(
                "rosa@assess.example", Role.reviewer, world.assessor_org, PASSWORD
            )
        ).email,
        reviewer_2=(
            await person_with_password(
                "kit@assess.example", Role.reviewer, world.assessor_org, PASSWORD
            )
        ).email,
        lead=(
            await person_with_password(
                "lee@assess.example", Role.lead_reviewer, world.assessor_org, PASSWORD
            )
        ).email,
    )
    with tempfile.TemporaryDirectory(prefix="mkr-workbench-") as scratch:
        profile = Path(scratch) / "chromium-profile"
        profile.mkdir()
        async with live_server() as server:
            certificate, checked = await asyncio.wait_for(
                asyncio.to_thread(_drive, server.base, cast, str(profile)), timeout=300
            )
    assert certificate.startswith("MKR-")
    assert {"queue", "review page", "my reviews", "moderation list", "moderation case"} <= set(
        checked
    )
    for name in ("review-queue", "review-page", "moderation"):
        assert (DOCS / f"{name}.png").stat().st_size > 1000


def _open_a_review(bench: Workbench, email: str) -> None:
    bench.sign_in(email)
    bench.browser.open("/review")
    bench.browser.find("form[action='/review/claim'] button").click()
    bench.browser.wait(lambda d: "done=claimed" in d.current_url, "the review page")


TYPED = "Checked at source: the sign-off page is dated."


def _type_after_the_session_ended(bench: Workbench, email: str) -> None:
    """The session has run out: the autosave says so; the section's Save keeps what was typed
    through sign-in, and the page after it sends it."""
    from selenium.webdriver.common.by import By

    driver, base = bench.driver, bench.browser.base
    review_path = driver.current_url.partition("?")[0].removeprefix(base)
    first = driver.find_elements(By.CSS_SELECTOR, "[data-code]")[0]
    label = first.find_element(By.CSS_SELECTOR, "label[for]")
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", label)
    label.click()
    note = first.find_element(By.CSS_SELECTOR, ".saved")
    bench.browser.wait(lambda _: "session has ended" in note.text, "the session message")
    assert note.text == (
        "Your session has ended, so this was not saved. Sign in again (your entries stay "
        "on this page), then press Save."
    )
    link = note.find_element(By.TAG_NAME, "a")
    assert link.get_attribute("href") == f"{base}/sign-in?next={review_path}"
    assert link.get_attribute("target") == "_blank"
    assert link.get_attribute("rel") == "noopener"
    bench.axe("review page, session ended")

    first.find_element(By.TAG_NAME, "textarea").send_keys(TYPED)
    save = bench.browser.find("form[data-section] button[type=submit]")
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", save)
    save.click()
    bench.browser.wait(lambda d: "resume=" in d.current_url, "the sign-in page")
    sign_in_browser(driver, base, email, PASSWORD, keep_page=True)
    bench.browser.wait(lambda d: "/sign-in/continue" in d.current_url, "the page to continue")
    assert bench.browser.text("h1") == "Continue where you left off"
    assert TYPED in bench.browser.text("#kept")
    bench.axe("continue where you left off")
    bench.browser.find("main form button[type=submit]").click()
    bench.browser.wait(lambda d: "saved=" in d.current_url, "the review page, saved")
    assert TYPED in driver.find_elements(By.CSS_SELECTOR, "[data-code] textarea")[0].get_attribute(
        "value"
    )


async def test_a_session_ending_while_typing_in_a_real_browser(
    client: httpx.AsyncClient, world: World
) -> None:
    from registry.tables import WebSession
    from tests.web.test_browser import Browser, _driver

    await publish(SYSTEM, builtin_document())
    await submitted_dossier(client, world.supplier_a, name="Triage Helper")
    reviewer = await person_with_password(
        "rosa@assess.example", Role.reviewer, world.assessor_org, PASSWORD
    )
    with tempfile.TemporaryDirectory(prefix="mkr-workbench-") as scratch:
        profile = Path(scratch) / "chromium-profile"
        profile.mkdir()
        async with live_server() as server:
            driver = await asyncio.to_thread(_driver, str(profile))
            try:
                bench = Workbench(Browser(driver, server.base))
                await asyncio.wait_for(
                    asyncio.to_thread(_open_a_review, bench, reviewer.email), timeout=120
                )
                # Idle too long: the session's row says it ran out (the server is another
                # process, so its clock cannot be moved).
                await WebSession.update({WebSession.expires_at: clock.now() - 1}, force=True)
                await asyncio.wait_for(
                    asyncio.to_thread(_type_after_the_session_ended, bench, reviewer.email),
                    timeout=120,
                )
            finally:
                await asyncio.to_thread(driver.quit)
