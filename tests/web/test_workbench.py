"""The reviewer's workbench (``/review/…``) in-process: every route, every form without script,
the JSON save the script uses, errors as pages; the full flow from claim to certificate."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import AsyncIterator, Callable
from html import unescape
from typing import Any

import httpx
import pytest
from litestar import Litestar

from registry import clock
from registry.domain.dates import working_days
from registry.domain.identity import Role
from registry.services import signin
from registry.services.audit import SYSTEM
from registry.services.criteria import builtin_document, publish
from registry.web.review_pages import outcome_message
from tests import review_flow
from tests.people import SignedUpPerson, csrf_token_of, person_with_password, sign_in
from tests.review_flow import criteria_by_code
from tests.web.html import parse
from tests.web.workbench import csrf_of, post_form, signed_in, submitted_dossier
from tests.world import World

pytestmark = pytest.mark.usefixtures("signing")


@pytest.fixture
async def builtin(db: None) -> None:
    await publish(SYSTEM, builtin_document())


def _choice(code: str, weak: bool) -> tuple[str, str]:
    criterion = criteria_by_code()[code]
    if criterion.mode == "gate":
        return ("fail", "Signature page missing.") if weak else ("pass", "Checked at source.")
    return ("0", "No evidence of this.") if weak else (str(criterion.max_score), "Strong.")


async def _claim(reviewer: httpx.AsyncClient) -> str:
    response = await post_form(reviewer, "/review", "/review/claim", {})
    assert response.status_code == 303, response.text
    location = response.headers["location"]
    found = re.match(r"^/review/([0-9a-f-]{36})\?done=claimed$", location)
    assert found, location
    return found.group(1)


async def _score_all(
    reviewer: httpx.AsyncClient, review_id: str, weak: frozenset[str] = frozenset()
) -> None:
    """Save every section through its no-script form."""
    page = await reviewer.get(f"/review/{review_id}")
    assert page.status_code == 200, page.text
    sections = re.findall(rf'action="/review/{review_id}/sections/([^"]+)"', page.text)
    codes = re.findall(r'name="result-([^"]+)" value=', page.text)
    by_section: dict[str, dict[str, str]] = {s: {} for s in sections}
    for code in dict.fromkeys(codes):
        choice, rationale = _choice(code, code in weak)
        by_section[code.split(".")[0]].update(
            {f"result-{code}": choice, f"rationale-{code}": rationale}
        )
    for section, data in by_section.items():
        saved = await reviewer.post(
            f"/review/{review_id}/sections/{section}",
            data={**data, "_csrf_token": csrf_of(page.text)},
        )
        assert saved.status_code == 303, saved.text
        assert saved.headers["location"].endswith(f"?saved={section}#section-{section}")


async def _submit(reviewer: httpx.AsyncClient, review_id: str, recommendation: str) -> str:
    response = await post_form(
        reviewer,
        f"/review/{review_id}",
        f"/review/{review_id}/submit",
        {"recommendation": recommendation, "summary": "Reviewed in full."},
    )
    assert response.status_code == 303, response.text
    mine = await reviewer.get(response.headers["location"])
    assert mine.status_code == 200
    return parse(mine.text).text("outcome")


async def test_reviewers_disagree_and_the_lead_decides(
    app: Litestar, client: httpx.AsyncClient, world: World, builtin: None
) -> None:
    await submitted_dossier(client, world.supplier_a, name="Triage Helper")
    async with signed_in(app, world.reviewer) as first, signed_in(app, world.reviewer_2) as second:
        queue = await first.get("/review")
        assert queue.status_code == 200, queue.text
        assert "Triage Helper" in queue.text
        assert "Within target" in queue.text

        review_1 = await _claim(first)
        page = await first.get(f"/review/{review_1}")
        assert "0 of" in parse(page.text).text("progress-count")
        evidence = re.search(rf'href="(/review/{review_1}/evidence/[^"?]+)"', page.text)
        assert evidence, "the page links each evidence file"
        opened = await first.get(evidence.group(1))
        assert opened.status_code == 200
        assert opened.headers["content-disposition"].startswith("inline")
        assert opened.content.startswith(b"%PDF-")
        downloaded = await first.get(evidence.group(1) + "?download=1")
        assert downloaded.headers["content-disposition"].startswith("attachment")

        await _score_all(first, review_1)
        said = await _submit(first, review_1, "approve")
        assert said.startswith("Submitted. Waiting for 1 more independent review")
        done = await first.get(f"/review/{review_1}")
        assert "You submitted this review" in done.text
        assert "<script>" not in done.text, "nothing left to save: no script"
        assert 'name="result-' not in done.text

        review_2 = await _claim(second)
        gate = next(c for c in criteria_by_code().values() if c.mode == "gate")
        await _score_all(second, review_2, weak=frozenset({gate.code}))
        said = await _submit(second, review_2, "reject")
        assert "moderate" in said, said

    async with signed_in(app, world.lead) as lead:
        cases = await lead.get("/review/moderation")
        assert cases.status_code == 200, cases.text
        case_id = re.search(r'href="/review/moderation/([0-9a-f-]{36})"', cases.text)
        assert case_id
        shown = await lead.get(f"/review/moderation/{case_id.group(1)}")
        assert shown.status_code == 200, shown.text
        assert "Reviewers differ" in shown.text
        form: dict[str, str] = {}
        for code in criteria_by_code():
            if f'name="final-{code}"' in shown.text:
                choice, _ = _choice(code, False)
                form[f"final-{code}"] = choice
                form[f"rationale-{code}"] = "Checked the evidence myself."
        decided = await lead.post(
            f"/review/moderation/{case_id.group(1)}",
            data={
                **form,
                "recommendation": "approve",
                "summary": "The gate passes on the evidence.",
                "_csrf_token": csrf_of(shown.text),
            },
        )
        assert decided.status_code == 303, decided.text
        after = await lead.get(decided.headers["location"])
        said = parse(after.text).text("outcome")
        assert re.match(r"^Decided\. Approved: certificate MKR-[0-9A-Z-]+ is issued", said), said


def test_working_days_skip_weekends() -> None:
    friday = dt.date(2026, 11, 27)
    assert working_days(friday, friday) == 0
    assert working_days(friday, dt.date(2026, 11, 30)) == 1  # Monday
    assert working_days(friday, dt.date(2026, 12, 11)) == 10
    assert working_days(dt.date(2026, 11, 28), dt.date(2026, 11, 29)) == 0  # Sat → Sun


@pytest.mark.parametrize(
    ("query", "said"),
    [
        ({"done": "submitted", "st": "in_review", "sub": "1", "req": "2"}, "Submitted. Waiting"),
        ({"done": "decided", "st": "approved", "sub": "2", "req": "2", "iss": "issued"}, None),
        ({"done": "submitted", "st": "bogus", "sub": "1", "req": "2"}, None),
        ({"done": "<script>", "st": "approved"}, None),
    ],
)
def test_outcome_flags_are_facts_never_sentences(query: dict[str, str], said: Any) -> None:
    found = outcome_message(query)
    if said is None:
        assert found is None or found.startswith("Decided. Approved")
    else:
        assert found is not None
        assert found.startswith(said)


async def test_submitting_too_early_lists_what_is_missing(
    app: Litestar, client: httpx.AsyncClient, world: World, builtin: None
) -> None:
    await submitted_dossier(client, world.supplier_a)
    async with signed_in(app, world.reviewer) as reviewer:
        review_id = await _claim(reviewer)
        refused = await post_form(
            reviewer, f"/review/{review_id}", f"/review/{review_id}/submit", {"summary": " "}
        )
        assert refused.status_code == 422
        page = parse(refused.text)
        assert page.title.startswith("Error: ")
        summary = page.text("error-summary")
        assert summary.startswith("There is a problem")
        total = int(re.search(r"0 of (\d+)", page.text("progress-count")).group(1))  # type: ignore[union-attr]
        assert summary.count("Score ") == total
        assert "Choose a recommendation" in summary
        assert "Write a summary of your review" in summary
        # Each line links to the control to fix, and that control exists on the page.
        for target in re.findall(r'<li><a href="#([^"]+)">', refused.text):
            assert f'id="{target}"' in refused.text, target


async def test_a_refused_section_keeps_what_was_typed(
    app: Litestar, client: httpx.AsyncClient, world: World, builtin: None
) -> None:
    await submitted_dossier(client, world.supplier_a)
    async with signed_in(app, world.reviewer) as reviewer:
        review_id = await _claim(reviewer)
        page = await reviewer.get(f"/review/{review_id}")
        refused = await reviewer.post(
            f"/review/{review_id}/sections/C1",
            data={
                "result-C1.1": "fail",
                "rationale-C1.1": "",
                "result-C1.8": "pass",
                "rationale-C1.8": "Seen the hazard log.",
                "_csrf_token": csrf_of(page.text),
            },
        )
        assert refused.status_code == 422, refused.text
        shown = parse(refused.text)
        assert "C1.1: a failed gate needs a rationale" in shown.text("error-summary")
        assert "C1.1: a failed gate needs a rationale" in shown.text("result-C1-1-error")
        checked = {i["id"] for i in shown.inputs if "checked" in i}
        assert "result-C1-1-1" in checked, "the refused choice (fail) is kept"
        assert "result-C1-8-0" in checked, "the saved one shows as saved"
        assert "1 of" in shown.text("progress-count")


async def test_the_script_saves_one_score_as_json(
    app: Litestar, client: httpx.AsyncClient, world: World, builtin: None
) -> None:
    await submitted_dossier(client, world.supplier_a)
    async with signed_in(app, world.reviewer) as reviewer:
        review_id = await _claim(reviewer)
        page = await reviewer.get(f"/review/{review_id}")
        token = csrf_of(page.text)
        refused = await reviewer.post(
            f"/review/{review_id}/scores/C1.1", data={"result": "fail", "_csrf_token": token}
        )
        assert refused.status_code == 422
        assert refused.json()["error"] == "Not saved yet: C1.1: a failed gate needs a rationale."
        odd = await reviewer.post(
            f"/review/{review_id}/scores/C1.1", data={"result": "7", "_csrf_token": token}
        )
        assert odd.status_code == 422
        saved = await reviewer.post(
            f"/review/{review_id}/scores/C1.1",
            data={"result": "fail", "rationale": "Unsigned.", "_csrf_token": token},
        )
        assert saved.status_code == 200, saved.text
        body = saved.json()
        assert body["saved"] is True
        assert body["scored"] == 1
        assert body["result"] == "Fail"
        # The page's script is pinned by hash in the CSP; nothing else may run.
        csp = page.headers["content-security-policy"]
        assert re.search(r"script-src 'sha256-[A-Za-z0-9+/=]+'; ", csp), csp
        assert "unsafe-inline" not in csp
        assert page.headers["cache-control"] == "no-store"


async def test_renew_release_and_an_empty_queue_say_what_happened(
    app: Litestar, client: httpx.AsyncClient, world: World, builtin: None
) -> None:
    async with signed_in(app, world.reviewer) as reviewer:
        nothing = await post_form(reviewer, "/review", "/review/claim", {})
        shown = await reviewer.get(nothing.headers["location"])
        assert parse(shown.text).text("outcome") == "There is nothing you can claim just now."
        await submitted_dossier(client, world.supplier_a, name="Rota Planner")
        review_id = await _claim(reviewer)
        mine = await reviewer.get("/review/mine")
        assert "Rota Planner" in mine.text
        assert re.search(r"your claim lasts [34] hours? (\d+ minutes? )?more", mine.text)
        renewed = await post_form(reviewer, "/review/mine", f"/review/{review_id}/renew", {})
        shown = await reviewer.get(renewed.headers["location"])
        assert parse(shown.text).text("outcome").startswith("Renewed.")
        released = await post_form(reviewer, "/review/mine", f"/review/{review_id}/release", {})
        shown = await reviewer.get(released.headers["location"])
        assert parse(shown.text).text("outcome").startswith("Released.")
        assert "You hold no claims." in shown.text


async def test_who_may_open_what(
    app: Litestar, client: httpx.AsyncClient, world: World, builtin: None
) -> None:
    anonymous = await client.get("/review/mine")
    assert anonymous.status_code == 303
    assert anonymous.headers["location"] == "/sign-in?next=/review/mine"
    await submitted_dossier(client, world.supplier_a, name="Secret Product")
    async with signed_in(app, world.supplier_a) as supplier:
        refused = await supplier.get("/review")
        assert refused.status_code == 403
        assert refused.headers["content-type"].startswith("text/html")
    async with signed_in(app, world.reviewer) as reviewer:
        review_id = await _claim(reviewer)
        moderation = await reviewer.get("/review/moderation")
        assert moderation.status_code == 403
    async with signed_in(app, world.reviewer_2) as other:
        for path in (f"/review/{review_id}", f"/review/{review_id}/evidence/{review_id}"):
            hidden = await other.get(path)
            assert hidden.status_code == 404, path
            assert "Secret Product" not in hidden.text


async def test_a_conflicted_supplier_is_never_shown(
    app: Litestar, client: httpx.AsyncClient, world: World, builtin: None
) -> None:
    await submitted_dossier(client, world.supplier_a, name="Conflicted Product")
    declared = await client.post(
        "/v1/reviewers/me/interests",
        json={"organisation_ids": [world.org_a]},
        headers=world.reviewer.headers,
    )
    assert declared.status_code == 200, declared.text
    async with signed_in(app, world.reviewer) as reviewer:
        queue = await reviewer.get("/review")
        assert "Conflicted Product" not in queue.text
        assert "Nothing is waiting for review." in queue.text
        claimed = await post_form(reviewer, "/review", "/review/claim", {})
        assert claimed.headers["location"] == "/review?done=nothing"


async def test_a_second_round_shows_what_changed(
    app: Litestar, client: httpx.AsyncClient, world: World, builtin: None
) -> None:
    dossier = await submitted_dossier(client, world.supplier_a, name="Second Round")
    scored = [c.code for c in criteria_by_code().values() if c.mode == "scored"]
    done = [
        await review_flow.review(
            client, person.headers, "changes_requested", weak=frozenset(scored)
        )
        for person in (world.reviewer, world.reviewer_2)
    ]
    assert done[-1]["progress"]["status"] == "changes_requested"
    supplier = world.supplier_a.headers
    changed = await client.put(
        f"/v1/dossiers/{dossier['id']}/answers/D1.4", json={"value": "na"}, headers=supplier
    )
    assert changed.status_code == 200, changed.text
    again = await client.post(f"/v1/dossiers/{dossier['id']}/submit", headers=supplier)
    assert again.status_code == 200, again.text
    async with signed_in(app, world.lead) as lead:  # a lead reviews too; the two did round 1
        review_id = await _claim(lead)
        page = await lead.get(f"/review/{review_id}")
        changes = parse(page.text).text("changes-title")
        assert changes == "What changed since round 1"
        assert "D1.4</a>: was “Yes”, now “Not applicable”." in page.text
        offered = {i["value"] for i in parse(page.text).inputs if i.get("name") == "result-D1.4"}
        assert "na" in offered, "the supplier answered not applicable: the reviewer may agree"
        other = {i["value"] for i in parse(page.text).inputs if i.get("name") == "result-D1.1"}
        assert "na" not in other
    async with signed_in(app, world.reviewer) as reviewer:
        # Round 1's reviewer may not read the supplier's new draft: their review says so.
        earlier = await reviewer.get(f"/review/{done[0]['id']}")
        assert earlier.status_code == 200, earlier.text
        assert "The dossier has since moved on to a new revision" in earlier.text
        assert "Request changes" in earlier.text


async def test_a_decision_the_final_results_contradict_is_refused(
    app: Litestar, client: httpx.AsyncClient, world: World, builtin: None
) -> None:
    await submitted_dossier(client, world.supplier_a)
    gate = next(c.code for c in criteria_by_code().values() if c.mode == "gate")
    await review_flow.review(client, world.reviewer.headers, "approve")
    await review_flow.review(client, world.reviewer_2.headers, "reject", weak=frozenset({gate}))
    async with signed_in(app, world.lead) as lead:
        cases = await lead.get("/review/moderation")
        case_id = re.search(r'href="/review/moderation/([0-9a-f-]{36})"', cases.text)
        assert case_id, cases.text
        path = f"/review/moderation/{case_id.group(1)}"
        shown = await lead.get(path)
        assert f"{gate} " in parse(shown.text).text(f"criterion-{gate.replace('.', '-')}")
        refused = await lead.post(
            path, data={"recommendation": "", "_csrf_token": csrf_of(shown.text)}
        )
        assert refused.status_code == 422
        summary = parse(refused.text).text("error-summary")
        assert f"Choose the final result for {gate}" in summary
        assert "Choose the final recommendation" in summary
        assert "Write a summary of your decision" in summary
        form = {
            "recommendation": "reject",
            "summary": "Reject.",
            "_csrf_token": csrf_of(shown.text),
        }
        for code in criteria_by_code():
            if f'name="final-{code}"' in shown.text:
                form[f"final-{code}"] = _choice(code, False)[0]
                form[f"rationale-{code}"] = "Read it."
        contradicted = await lead.post(path, data=form)
        assert contradicted.status_code == 422, contradicted.text
        assert "reject" in parse(contradicted.text).text("error-summary").lower()


# --- a session that ends while a reviewer types (issue #12) -------------------------------------

PASSWORD = "violet-harbour-lantern-7"
_HIDDEN = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)">')


@pytest.fixture
async def reviewers(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> tuple[SignedUpPerson, SignedUpPerson]:
    """Two reviewers of the assessor organisation who sign in with a password (their failed
    sign-ins, if any, counted under this test's own Redis prefix)."""
    monkeypatch.setattr(signin, "key_prefix", lambda: f"kitemark-test:{uuid.uuid4().hex}:")
    made = [
        await person_with_password(
            f"{name}-{uuid.uuid4().hex[:8]}@assess.example",
            Role.reviewer,
            world.assessor_org,
            PASSWORD,
        )
        for name in ("alma", "bert")
    ]
    return made[0], made[1]


@pytest.fixture
async def browsers(app: Litestar) -> AsyncIterator[tuple[httpx.AsyncClient, httpx.AsyncClient]]:
    """Two browsers, each with its own cookie jar."""
    transport = httpx.ASGITransport(app=app)
    async with (
        httpx.AsyncClient(transport=transport, base_url="http://registry.test") as one,
        httpx.AsyncClient(transport=transport, base_url="http://registry.test") as two,
    ):
        yield one, two


def _clock(monkeypatch: pytest.MonkeyPatch) -> Callable[[int], None]:
    start = clock.now()

    def move(seconds: int) -> None:
        monkeypatch.setattr(clock, "now", lambda: start + seconds)

    move(0)
    return move


async def _sign_in_resuming(
    browser: httpx.AsyncClient, person: SignedUpPerson, sign_in_location: str
) -> httpx.Response:
    """Sign in on the page a redirect led to, as its form posts (``next`` and ``resume``)."""
    page = await browser.get(sign_in_location)
    assert page.status_code == 200, page.text
    hidden = dict(_HIDDEN.findall(page.text))
    response = await browser.post(
        "/sign-in",
        data={
            **{name: unescape(value) for name, value in hidden.items()},
            "email": person.email,
            "password": person.password,
            "_csrf_token": csrf_token_of(page.text),
        },
    )
    assert response.status_code == 303, response.text
    return response


async def _first_criterion(browser: httpx.AsyncClient, review_id: str) -> tuple[str, str, str]:
    page = await browser.get(f"/review/{review_id}")
    assert page.status_code == 200, page.text
    code = re.findall(r'name="result-([^"]+)" value=', page.text)[0]
    return code.split(".")[0], code, page.text


async def test_an_expired_section_save_is_kept_for_its_reviewer_once(
    client: httpx.AsyncClient,
    world: World,
    builtin: None,
    reviewers: tuple[SignedUpPerson, SignedUpPerson],
    browsers: tuple[httpx.AsyncClient, httpx.AsyncClient],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    alma, bert = reviewers
    mine, theirs = browsers
    move = _clock(monkeypatch)
    await submitted_dossier(client, world.supplier_a)
    await sign_in(mine, alma.email, PASSWORD)
    review_id = await _claim(mine)
    section, code, page = await _first_criterion(mine, review_id)
    choice, _ = _choice(code, False)
    typed = "Checked at source: the DPIA's sign-off & date match."

    move(31 * 60)  # idle past REGISTRY_SESSION_IDLE while typing
    posted = await mine.post(
        f"/review/{review_id}/sections/{section}",
        data={f"result-{code}": choice, f"rationale-{code}": typed, "_csrf_token": csrf_of(page)},
    )
    assert posted.status_code == 303, posted.text
    location = posted.headers["location"]
    found = re.fullmatch(
        rf"/sign-in\?next=/review/{review_id}&resume=([A-Za-z0-9_-]{{43}})", location
    )
    assert found, location
    shown = await mine.get(location)
    assert "what you last sent was\nnot saved" in shown.text

    # Someone else signing in with the key goes on to next, never sees it, and leaves it be.
    other = await _sign_in_resuming(theirs, bert, location)
    assert other.headers["location"].startswith("/sign-in/continue?resume=")
    refused = await theirs.get(other.headers["location"])
    assert refused.status_code == 303
    assert refused.headers["location"] == f"/review/{review_id}"

    signed_in_again = await _sign_in_resuming(mine, alma, location)
    continue_url = signed_in_again.headers["location"]
    interstitial = await mine.get(continue_url)
    assert interstitial.status_code == 200, interstitial.text
    assert "<title>Continue where you left off" in interstitial.text
    listed = parse(interstitial.text).text("kept")
    assert f"rationale-{code}" in listed
    assert typed in listed
    assert f'action="/review/{review_id}/sections/{section}"' in interstitial.text
    assert f'href="/review/{review_id}">Discard' in interstitial.text
    fields = {name: unescape(value) for name, value in _HIDDEN.findall(interstitial.text)}
    assert fields == {f"result-{code}": choice, f"rationale-{code}": typed}

    once = await mine.get(continue_url)
    assert once.status_code == 303, "a stash is shown once"
    assert "Continue where you left off" not in (await theirs.get(continue_url)).text

    saved = await mine.post(
        f"/review/{review_id}/sections/{section}",
        data={**fields, "_csrf_token": csrf_of(interstitial.text)},
    )
    assert saved.status_code == 303, saved.text
    assert saved.headers["location"].endswith(f"?saved={section}#section-{section}")
    review = await mine.get(f"/review/{review_id}")
    assert "1 of" in parse(review.text).text("progress-count")
    assert typed in unescape(review.text)


async def test_an_expired_autosave_is_told_to_sign_in_not_redirected(
    client: httpx.AsyncClient,
    world: World,
    builtin: None,
    reviewers: tuple[SignedUpPerson, SignedUpPerson],
    browsers: tuple[httpx.AsyncClient, httpx.AsyncClient],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    alma, _ = reviewers
    mine, _ = browsers
    move = _clock(monkeypatch)
    await submitted_dossier(client, world.supplier_a)
    await sign_in(mine, alma.email, PASSWORD)
    review_id = await _claim(mine)
    _, code, page = await _first_criterion(mine, review_id)
    choice, rationale = _choice(code, False)
    move(31 * 60)
    refused = await mine.post(
        f"/review/{review_id}/scores/{code}",
        data={"result": choice, "rationale": rationale},
        headers={"Accept": "application/json", "X-CSRFToken": csrf_of(page)},
    )
    assert refused.status_code == 401, refused.text
    assert refused.headers["www-authenticate"].startswith("Session")
    assert refused.json() == {
        "error": "Your session has ended. Sign in again.",
        "sign_in": f"/sign-in?next=/review/{review_id}",
    }


async def test_a_form_posted_without_a_known_session_or_too_big_keeps_nothing(
    client: httpx.AsyncClient,
    world: World,
    builtin: None,
    reviewers: tuple[SignedUpPerson, SignedUpPerson],
    browsers: tuple[httpx.AsyncClient, httpx.AsyncClient],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    alma, _ = reviewers
    mine, theirs = browsers
    move = _clock(monkeypatch)
    await submitted_dossier(client, world.supplier_a)
    await sign_in(mine, alma.email, PASSWORD)
    review_id = await _claim(mine)
    section, code, page = await _first_criterion(mine, review_id)
    choice, _ = _choice(code, False)
    move(31 * 60)
    too_big = await mine.post(
        f"/review/{review_id}/sections/{section}",
        data={
            f"result-{code}": choice,
            f"rationale-{code}": "x" * 70_000,
            "_csrf_token": csrf_of(page),
        },
    )
    assert too_big.headers["location"] == f"/sign-in?next=/review/{review_id}"
    shown = await theirs.get("/sign-in")
    nobody = await theirs.post(
        f"/review/{review_id}/sections/{section}",
        data={f"result-{code}": choice, "_csrf_token": csrf_token_of(shown.text)},
    )
    assert nobody.status_code == 303
    assert nobody.headers["location"] == f"/sign-in?next=/review/{review_id}"
