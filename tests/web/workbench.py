"""Helpers for the reviewer's workbench tests: a signed-in client per person, form posts with
the page's CSRF token, and a dossier of the built-in set submitted and ready to claim."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from html import unescape
from typing import Any

import httpx
from litestar import Litestar

from registry.services import sessions
from tests.supplier_flow import TIER_A_ADMIN, complete_dossier, new_dossier
from tests.world import Person

SESSION_COOKIE = "kitemark_session"
_CSRF = re.compile(r'name="_csrf_token"\s+value="([^"]+)"')


@asynccontextmanager
async def signed_in(app: Litestar, person: Person) -> AsyncIterator[httpx.AsyncClient]:
    """A browser-like client holding a live session of ``person`` (started by the session
    service itself, as the sign-in form does)."""
    session_id = await sessions.start(person.user_id, None)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://registry.test") as http:
        http.cookies.set(SESSION_COOKIE, session_id)
        yield http


def csrf_of(html: str) -> str:
    """The CSRF token of a page's forms ("" where the app checks none)."""
    found = _CSRF.search(html)
    return unescape(found.group(1)) if found else ""


async def post_form(
    client: httpx.AsyncClient, page: str, action: str, data: dict[str, str]
) -> httpx.Response:
    """GET ``page`` for its CSRF token, then POST ``data`` to ``action`` as its form would."""
    shown = await client.get(page)
    assert shown.status_code == 200, shown.text
    return await client.post(action, data={**data, "_csrf_token": csrf_of(shown.text)})


async def submitted_dossier(
    client: httpx.AsyncClient, supplier: Person, name: str = "Triage"
) -> dict[str, Any]:
    """A tier A dossier of the built-in set, complete with evidence, submitted for review."""
    dossier = await new_dossier(client, supplier.headers, TIER_A_ADMIN, name=name)
    await complete_dossier(client, supplier.headers, dossier, TIER_A_ADMIN)
    response = await client.post(f"/v1/dossiers/{dossier['id']}/submit", headers=supplier.headers)
    assert response.status_code == 200, response.text
    return dossier
