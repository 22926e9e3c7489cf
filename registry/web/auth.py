"""Who is signed in to the pages: the session cookie, and the dependencies pages declare.

A page that needs a signed-in person declares ``principal`` as a dependency::

    dependencies = {"principal": Provide(page_principal)}            # anyone signed in
    dependencies = {"principal": Provide(signed_in_as(Role.reviewer))}  # reviewers only

``page_principal`` reads the session on every request from the database (``services.sessions``):
a session that is unknown, idle too long, past its absolute limit or whose person was
deactivated sends the browser to ``/sign-in?next=<path>`` (303) — the app registers the handler
for ``SignInRequired``. A signed-in person of the wrong role gets ``Forbidden``: the pages'
error handler shows it as a 403 page.

After sign-in the browser comes back to ``next`` with a GET. What was typed into a form whose
POST found the session expired is not kept: pages post to the same path that shows their form
(Post/Redirect/Get), so ``next`` leads back to that form.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import quote, urlsplit

from litestar import Request, Response
from litestar.config.csrf import CSRFConfig
from litestar.datastructures import Cookie
from litestar.response import Redirect

from registry.domain.identity import Principal, Role
from registry.errors import Forbidden
from registry.services import sessions
from registry.settings import Settings, get_settings

SESSION_COOKIE = "kitemark_session"
SIGN_IN_PATH = "/sign-in"


class SignInRequired(Exception):
    """No live session: the page layer answers with a redirect to the sign-in page."""

    def __init__(self, next_path: str) -> None:
        super().__init__(next_path)
        self.next_path = next_path


LANDING_PATH = "/account"


def safe_next(value: str | None) -> str:
    """``value`` when it is a path on this site (``/…``, not ``//host`` or a URL), else the
    signed-in person's account page."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return LANDING_PATH
    parts = urlsplit(value)
    if parts.scheme or parts.netloc or any(ord(c) < 0x20 for c in value):
        return LANDING_PATH
    return value


def _here(request: Request[Any, Any, Any]) -> str:
    query = request.url.query
    return request.url.path + (f"?{query}" if query else "")


def sign_in_url(next_path: str) -> str:
    """The sign-in page, to come back to ``next_path`` afterwards."""
    return f"{SIGN_IN_PATH}?next={quote(safe_next(next_path), safe='/')}"


async def page_principal(request: Request[Any, Any, Any]) -> Principal:
    """The signed-in person, read from the database on every request; ``SignInRequired`` else."""
    session_id = request.cookies.get(SESSION_COOKIE)
    session = await sessions.resume(session_id) if session_id else None
    if session is None:
        raise SignInRequired(_here(request))
    request.state.session_handle = session.handle
    return session.principal


def signed_in_as(*roles: Role) -> Callable[[Request[Any, Any, Any]], Awaitable[Principal]]:
    """A page dependency: the signed-in person when they hold one of ``roles`` (a lead reviewer
    is also a reviewer, a supplier admin also a supplier member); ``Forbidden`` (a 403 page)
    otherwise."""

    async def principal(request: Request[Any, Any, Any]) -> Principal:
        found = await page_principal(request)
        if roles and not found.has_role(*roles):
            wanted = " or ".join(role.value.replace("_", " ") for role in roles)
            raise Forbidden(f"this page is for the {wanted} role")
        return found

    return principal


def session_cookie(session_id: str) -> Cookie:
    """The cookie that carries a session id: HttpOnly, SameSite=Lax, Secure over HTTPS."""
    settings = get_settings()
    return Cookie(
        key=SESSION_COOKIE,
        value=session_id,
        path="/",
        httponly=True,
        samesite="lax",
        secure=settings.secure_cookies,
        max_age=settings.session_max_seconds,
    )


def cleared_session_cookie() -> Cookie:
    """The cookie that makes the browser forget its session id."""
    return Cookie(
        key=SESSION_COOKIE,
        value="",
        path="/",
        httponly=True,
        samesite="lax",
        secure=get_settings().secure_cookies,
        max_age=0,
    )


def _redirect_to_sign_in(_: Request[Any, Any, Any], exc: SignInRequired) -> Response[Any]:
    response: Response[Any] = Redirect(sign_in_url(exc.next_path), status_code=303)
    response.headers["Cache-Control"] = "no-store"
    return response


EXCEPTION_HANDLERS: dict[type[Exception] | int, Any] = {SignInRequired: _redirect_to_sign_in}
"""Registered on the app, so a page in any router that needs sign-in redirects the same way."""


# Not checked for a CSRF token: the token-authenticated API (no cookies), and what has no
# form. The verification page's PDF upload opts out on its handler (``pages.VerifyPages``).
CSRF_EXCLUDE = ["^/v1/", "^/health$", "^/schema", "^/\\.well-known/"]


def _csrf_secret(settings: Settings) -> str:
    if settings.csrf_secret:
        return settings.csrf_secret
    path = settings.csrf_secret_path
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        try:  # several processes may start at once: the first to create the file wins
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(descriptor, "w", encoding="ascii") as f:
                f.write(secrets.token_hex(32))
    return path.read_text(encoding="ascii").strip()


def csrf_config(settings: Settings) -> CSRFConfig:
    """Litestar's double-submit CSRF check on every form the pages post (DESIGN §1); its secret
    is REGISTRY_CSRF_SECRET, or one made on first start under the data directory (0600)."""
    return CSRFConfig(
        secret=_csrf_secret(settings),
        cookie_name="kitemark_csrf",
        cookie_secure=settings.secure_cookies,
        cookie_httponly=True,
        cookie_samesite="lax",
        exclude=CSRF_EXCLUDE,
    )
