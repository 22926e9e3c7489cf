"""Who is signed in to the pages: the session cookie, and the dependencies pages declare.

A page that needs a signed-in person declares ``principal`` as a dependency::

    dependencies = {"principal": Provide(page_principal)}            # anyone signed in
    dependencies = {"principal": Provide(signed_in_as(Role.reviewer))}  # reviewers only

``page_principal`` reads the session on every request from the database (``services.sessions``):
a session that is unknown, idle too long, past its absolute limit or whose person was
deactivated sends the browser to ``/sign-in?next=<path>`` (303) — the app registers the handler
for ``SignInRequired``. A handler that only takes a form post names the page showing the form as
``opt={"page": "/review/{review_id}"}``, and ``next`` is that page. A signed-in person of the
wrong role gets ``Forbidden``: the pages' error handler shows it as a 403 page.

After sign-in the browser comes back to ``next`` with a GET. Two cases keep more:

- a script's request (``Accept: application/json``) gets 401 and ``{"error", "sign_in"}``
  instead of the redirect, so the script can say so and keep what is on its page;
- a urlencoded form POST whose session ran out keeps its fields (not ``_csrf_token``), for the
  person whose session it was (``sessions.stash``), and the redirect carries ``&resume=<key>``:
  after sign-in, ``/sign-in/continue`` shows them once, with a button that posts them again. A
  POST whose session's holder is unknown (no cookie, a swept or deactivated session) keeps
  nothing: fields bound to nobody could be planted for anyone to post as themselves.
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

    def __init__(self, next_path: str, *, resume: str | None = None, script: bool = False) -> None:
        super().__init__(next_path)
        self.next_path = next_path
        self.resume = resume
        self.script = script


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


def _page_here(request: Request[Any, Any, Any]) -> str:
    """Where to come back to after sign-in: this path, or for a handler that only takes a form
    post, the page that shows the form (its ``opt["page"]``, filled with the path's values)."""
    template = request.route_handler.opt.get("page")
    if isinstance(template, str):
        values = {name: quote(str(value), safe="") for name, value in request.path_params.items()}
        return template.format(**values)
    return _here(request)


def sign_in_url(next_path: str, resume: str | None = None) -> str:
    """The sign-in page, to come back to ``next_path`` afterwards (with a stash to resume)."""
    url = f"{SIGN_IN_PATH}?next={quote(safe_next(next_path), safe='/')}"
    return f"{url}&resume={quote(resume, safe='')}" if resume else url


def _by_script(request: Request[Any, Any, Any]) -> bool:
    return "application/json" in request.headers.get("accept", "")


_URLENCODED = "application/x-www-form-urlencoded"


async def _keep_typed(request: Request[Any, Any, Any], user_id: str | None) -> str | None:
    """Stash a urlencoded POST's fields for ``user_id``; the key, or None when nothing is kept."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if user_id is None or request.method != "POST" or content_type != _URLENCODED:
        return None
    if len(await request.body()) > sessions.STASH_MAX_BYTES:
        return None
    form = await request.form()
    fields = [
        (name, value)
        for name, value in form.multi_items()
        if isinstance(value, str) and name != "_csrf_token"
    ]
    if not fields:
        return None
    return await sessions.stash(user_id, safe_next(_here(request)), fields)


async def page_principal(request: Request[Any, Any, Any]) -> Principal:
    """The signed-in person, read from the database on every request; ``SignInRequired`` else."""
    session_id = request.cookies.get(SESSION_COOKIE)
    found = await sessions.check(session_id) if session_id else sessions.Ended(None)
    if isinstance(found, sessions.Ended):
        if _by_script(request):
            raise SignInRequired(_page_here(request), script=True)
        resume = await _keep_typed(request, found.user_id)
        raise SignInRequired(_page_here(request), resume=resume)
    request.state.session_handle = found.handle
    return found.principal


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


SESSION_ENDED = "Your session has ended. Sign in again."


def _redirect_to_sign_in(_: Request[Any, Any, Any], exc: SignInRequired) -> Response[Any]:
    response: Response[Any]
    if exc.script:
        # A 401 carries a challenge; the scheme names what to do: sign in on the page.
        response = Response(
            {"error": SESSION_ENDED, "sign_in": sign_in_url(exc.next_path)},
            status_code=401,
            headers={"WWW-Authenticate": 'Session realm="kitemark"'},
        )
    else:
        response = Redirect(sign_in_url(exc.next_path, exc.resume), status_code=303)
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
