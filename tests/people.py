"""People who sign in to the pages, for tests: made through the real services (an invitation,
then a password set through it), signed in through the real sign-in form."""

from __future__ import annotations

import re
from dataclasses import dataclass
from html import unescape
from typing import Any

import httpx

from registry.domain.identity import Role
from registry.services import audit, invitations
from schemas.identity import InvitationCreate

_CSRF_FIELD = re.compile(r'name="_csrf_token"\s+value="([^"]+)"')


@dataclass(frozen=True)
class SignedUpPerson:
    """A person who accepted an invitation and set a password."""

    user_id: str
    email: str
    password: str
    role: Role
    organisation_id: str | None


async def person_with_password(
    email: str, role: Role, organisation_id: str | None, password: str
) -> SignedUpPerson:
    """Invite a person (as the system) and set their password through the invitation."""
    invited = await invitations.invite(
        audit.SYSTEM,
        None,
        InvitationCreate(
            email=email, name=email.split("@")[0], role=role, organisation_id=organisation_id
        ),
    )
    await invitations.accept(invited.token, password)
    return SignedUpPerson(
        invited.out.user.id, invited.out.user.email, password, role, organisation_id
    )


def csrf_token_of(html: str) -> str:
    """The CSRF token a page's form carries."""
    found = _CSRF_FIELD.search(html)
    assert found, "the page has no form with a CSRF token"
    return unescape(found.group(1))


async def sign_in(client: httpx.AsyncClient, email: str, password: str) -> None:
    """Fetch /sign-in, post its form with the CSRF token; the session cookie stays in ``client``."""
    page = await client.get("/sign-in")
    assert page.status_code == 200, page.text
    response = await client.post(
        "/sign-in",
        data={"email": email, "password": password, "_csrf_token": csrf_token_of(page.text)},
    )
    assert response.status_code == 303, response.text


def sign_in_browser(
    browser: Any, base_url: str, email: str, password: str, *, keep_page: bool = False
) -> None:
    """Sign in through the real page in a selenium browser (the sign-in page it is on already,
    with its ``next`` and ``resume``, when ``keep_page``)."""
    from selenium.webdriver.common.by import By

    if not keep_page:
        browser.get(f"{base_url}/sign-in")
    browser.find_element(By.ID, "email").send_keys(email)
    browser.find_element(By.ID, "password").send_keys(password)
    browser.find_element(By.CSS_SELECTOR, "form[action='/sign-in'] button[type=submit]").click()
