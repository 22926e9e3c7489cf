"""The pages people sign in with (DESIGN §1): ``/sign-in``, ``/sign-out``, ``/invitations/{token}``
(set a password), ``/account`` and ``/account/tokens`` (their own API tokens).

Every form carries the CSRF token (Litestar's CSRF middleware checks it; a form without it is a
403 page). A failed sign-in answers the same, in words and status, whether or not the email
belongs to anyone.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any
from urllib.parse import urlencode

import msgspec
from litestar import Request, Response, Router, get, post
from litestar.di import NamedDependency, Provide
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromPath, QueryParameter
from litestar.response import Redirect, Template

from registry.api.client_address import client_address
from registry.api.problems import describe_invalid
from registry.domain.identity import SUPPLIER_ADMIN_GRANTS, Principal, Role
from registry.domain.passwords import MAX_PASSWORD_CHARS, MIN_PASSWORD_CHARS
from registry.errors import (
    InvalidInput,
    RegistryError,
    TooManyAttempts,
    Unauthenticated,
    Unavailable,
)
from registry.services import identity, invitations, sessions, signin
from registry.services.audit import Actor
from registry.settings import get_settings
from registry.web import auth, pages
from schemas.identity import InvitationCreate, TokenCreate

Form = Annotated[dict[str, str], Body(media_type=RequestEncodingType.URL_ENCODED)]
_PRINCIPAL = {"principal": Provide(auth.page_principal)}
_LANDING = auth.LANDING_PATH


def _page(template: str, status: int = 200, /, **context: Any) -> Template:
    return pages.page(template, status, **context)


def _sign_in_form(
    status: int = 200,
    *,
    next_path: str = _LANDING,
    email: str = "",
    resume: str = "",
    **context: Any,
) -> Template:
    values: dict[str, Any] = {
        "errors": {},
        "notice": None,
        "email": email,
        "next": next_path,
        "resume": resume,
    }
    values.update(context)
    return _page("sign_in.html", status, **values)


_NOTICES = {
    "signed-out": "You have signed out.",
    "password-set": "Your password is set. Sign in with it now.",
}


@get("/sign-in")
async def sign_in_page(
    next_path: Annotated[str, QueryParameter(name="next", max_length=2000)] = _LANDING,
    notice: Annotated[str, QueryParameter(max_length=20)] = "",
    resume: Annotated[str, QueryParameter(max_length=100)] = "",
) -> Template:
    """The sign-in form; ``next`` (a path on this site) is where it leads afterwards, by way of
    ``/sign-in/continue`` when ``resume`` names what a form posted as the session ended."""
    return _sign_in_form(
        next_path=auth.safe_next(next_path), notice=_NOTICES.get(notice), resume=resume
    )


@post("/sign-in", status_code=303)
async def sign_in(request: Request[Any, Any, Any], data: Form) -> Response[Any]:
    """Check the email and password; start a new session and go to ``next``."""
    email = data.get("email", "").strip()[:254]
    next_path = auth.safe_next(data.get("next"))
    resume = data.get("resume", "")[:100]
    try:
        signed_in = await signin.sign_in(
            email,
            data.get("password", ""),
            client_address(request),
            request.cookies.get(auth.SESSION_COOKIE),
        )
    except TooManyAttempts as e:
        response = _sign_in_form(
            429, next_path=next_path, email=email, resume=resume, errors={"email": e.detail}
        )
        response.headers["Retry-After"] = str(e.retry_after)
        return response
    except Unauthenticated as e:
        # 422, not 401: a 401 must carry a WWW-Authenticate challenge, and a form is none.
        return _sign_in_form(
            422, next_path=next_path, email=email, resume=resume, errors={"email": e.detail}
        )
    except Unavailable:
        return _sign_in_form(
            503,
            next_path=next_path,
            email=email,
            resume=resume,
            errors={"email": "Signing in is not possible just now. Try again in a few minutes."},
        )
    if resume:
        next_path = f"{CONTINUE_PATH}?{urlencode({'resume': resume, 'next': next_path})}"
    redirect = Redirect(next_path, status_code=303)
    redirect.set_cookie(auth.session_cookie(signed_in.session_id))
    return redirect


CONTINUE_PATH = "/sign-in/continue"


@get(CONTINUE_PATH, dependencies=_PRINCIPAL)
async def continue_page(
    principal: NamedDependency[Principal],
    resume: Annotated[str, QueryParameter(max_length=100)] = "",
    next_path: Annotated[str, QueryParameter(name="next", max_length=2000)] = _LANDING,
) -> Response[Any]:
    """What a form posted as the session ended, shown once to the person whose session it was,
    with a button that posts it again to where it was going; anyone else goes on to ``next``."""
    stashed = await sessions.take_stash(resume, principal.user_id) if resume else None
    if stashed is None:
        return Redirect(auth.safe_next(next_path), status_code=303)
    return _page(
        "sign_in_continue.html",
        signed_in=True,
        action=auth.safe_next(stashed.path),
        back=auth.safe_next(next_path),
        fields=stashed.fields,
        shown=[(name, value) for name, value in stashed.fields if value.strip()],
    )


@post("/sign-out", status_code=303, dependencies=_PRINCIPAL)
async def sign_out(
    request: Request[Any, Any, Any], principal: NamedDependency[Principal]
) -> Response[Any]:
    """End this session; the old cookie no longer works anywhere."""
    session_id = request.cookies.get(auth.SESSION_COOKIE, "")
    await signin.sign_out(principal.user_id, session_id)
    response = Redirect("/sign-in?notice=signed-out", status_code=303)
    response.set_cookie(auth.cleared_session_cookie())
    return response


# --- invitations --------------------------------------------------------------------------------

_GONE = {
    invitations.InvitationState.unknown: (
        404,
        "This invitation link does not work",
        "Check that you copied the whole link. If it still does not work, ask whoever invited "
        "you for a new one.",
    ),
    invitations.InvitationState.used: (
        410,
        "This invitation link has already been used",
        "Each link works once. If you set your password with it, sign in. If not, ask whoever "
        "invited you for a new link.",
    ),
    invitations.InvitationState.expired: (
        410,
        "This invitation link has expired",
        "Links work for 72 hours. Ask whoever invited you for a new one.",
    ),
}

Token = FromPath[str]


def _gone(state: invitations.InvitationState) -> Template:
    status, heading, advice = _GONE[state]
    return _page("invitation_gone.html", status, heading=heading, advice=advice)


def _invitation_form(
    token: str, view: invitations.InvitationView, status: int = 200, **context: Any
) -> Template:
    return _page(
        "invitation.html",
        status,
        token=token,
        email=view.email,
        name=view.name,
        min_chars=MIN_PASSWORD_CHARS,
        max_chars=MAX_PASSWORD_CHARS,
        errors=context.pop("errors", {}),
        **context,
    )


@get("/invitations/{token:str}")
async def invitation_page(token: Token) -> Template:
    """The form to set a password, or why the link no longer works (404 unknown, 410 used or
    expired)."""
    view = await invitations.look_up(token)
    if view.state is not invitations.InvitationState.usable:
        return _gone(view.state)
    return _invitation_form(token, view)


@post("/invitations/{token:str}", status_code=303)
async def accept_invitation(token: Token, data: Form) -> Response[Any]:
    """Set the password (once), then go to the sign-in page."""
    view = await invitations.look_up(token)
    if view.state is not invitations.InvitationState.usable:
        return _gone(view.state)
    try:
        await invitations.accept(token, data.get("password", ""))
    except invitations.InvitationUnusable as e:
        return _gone(e.state)
    except InvalidInput as e:
        return _invitation_form(token, view, 422, errors={"password": e.detail})
    return Redirect("/sign-in?notice=password-set", status_code=303)


# --- the signed-in person's own pages -----------------------------------------------------------


@get("/account", dependencies=_PRINCIPAL)
async def account_page(principal: NamedDependency[Principal]) -> Template:
    """Who is signed in."""
    me = await identity.me(principal)
    return _page("account.html", signed_in=True, me=me, roles=[role.value for role in me.roles])


def _tokens_page(status: int = 200, **context: Any) -> Template:
    values: dict[str, Any] = {
        "signed_in": True,
        "errors": {},
        "created": None,
        "notice": None,
        "label": "",
        "days": str(get_settings().token_default_days),
        "max_days": get_settings().token_max_days,
        "now": dt.datetime.now(tz=dt.UTC),
    }
    values.update(context)
    return _page("account_tokens.html", status, **values)


@get("/account/tokens", dependencies=_PRINCIPAL)
async def tokens_page(
    principal: NamedDependency[Principal],
    notice: Annotated[str, QueryParameter(max_length=20)] = "",
) -> Template:
    """The signed-in person's API tokens, and a form to make one."""
    listed = await identity.list_tokens(principal.user_id)
    return _tokens_page(
        tokens=listed.items, notice="Token revoked." if notice == "revoked" else None
    )


@post("/account/tokens", status_code=200, dependencies=_PRINCIPAL)
async def create_token(principal: NamedDependency[Principal], data: Form) -> Template:
    """Make a token for the signed-in person; its secret is on this page once."""
    label = data.get("label", "").strip()
    days_text = data.get("days", "").strip()
    max_days = get_settings().token_max_days
    errors: dict[str, str] = {}
    if not label:
        errors["label"] = "Enter what the token is for."
    elif len(label) > 100:
        errors["label"] = "What the token is for must be at most 100 characters."
    days = int(days_text) if days_text.isdigit() else 0
    if not 1 <= days <= max_days:
        errors["days"] = f"Enter a whole number of days from 1 to {max_days}."
    created = None
    if not errors:
        try:
            created = await identity.create_token(
                Actor(principal.user_id),
                principal.user_id,
                TokenCreate(label=label, expires_in_days=days),
            )
        except InvalidInput as e:
            errors["label"] = e.detail
    listed = await identity.list_tokens(principal.user_id)
    if errors:
        return _tokens_page(422, tokens=listed.items, errors=errors, label=label, days=days_text)
    return _tokens_page(tokens=listed.items, created=created)


@post(
    "/account/tokens/{token_id:str}/revoke",
    status_code=303,
    dependencies=_PRINCIPAL,
    opt={"page": "/account/tokens"},
)
async def revoke_token(
    principal: NamedDependency[Principal], token_id: FromPath[str]
) -> Response[Any]:
    """Revoke one of the signed-in person's own tokens (anyone else's is 404)."""
    await identity.revoke_token(Actor(principal.user_id), token_id, principal, own=True)
    return Redirect("/account/tokens?notice=revoked", status_code=303)


# --- inviting people (admins; supplier admins into their own organisation) ----------------------

_INVITERS = {"principal": Provide(auth.signed_in_as(Role.admin, Role.supplier_admin))}


async def _invite_page(principal: Principal, status: int = 200, **context: Any) -> Template:
    admin = principal.has_role(Role.admin)
    if admin:
        organisations = (await identity.list_organisations(None, 200)).items
        roles = [role.value for role in Role]
    else:
        organisations = [
            await identity.get_organisation(principal, principal.organisation_id or "")
        ]
        roles = sorted(role.value for role in SUPPLIER_ADMIN_GRANTS)
    values: dict[str, Any] = {"errors": {}, "values": {}, "invited": None}
    values.update(context)
    return _page(
        "account_invite.html",
        status,
        signed_in=True,
        admin=admin,
        organisations=organisations,
        roles=roles,
        **values,
    )


@get("/account/invitations", dependencies=_INVITERS)
async def invite_page(principal: NamedDependency[Principal]) -> Template:
    """The form to invite a person."""
    return await _invite_page(principal)


@post("/account/invitations", status_code=200, dependencies=_INVITERS)
async def invite(principal: NamedDependency[Principal], data: Form) -> Template:
    """Invite a person; the one-time link is on this page once."""
    values = {
        name: data.get(name, "").strip() for name in ("email", "name", "role", "organisation_id")
    }
    body = {**values, "organisation_id": values["organisation_id"] or None}
    try:
        request = msgspec.convert(body, InvitationCreate)
        invited = await invitations.invite(Actor(principal.user_id), principal, request)
    except msgspec.ValidationError as e:
        field, words = describe_invalid(e)
        return await _invite_page(principal, 422, values=values, errors={field or "email": words})
    except RegistryError as e:
        return await _invite_page(
            principal, 422, values=values, errors={e.field or "email": e.detail}
        )
    return await _invite_page(principal, invited=invited.out)


router = Router(
    path="/",
    route_handlers=[
        sign_in_page,
        sign_in,
        continue_page,
        sign_out,
        invitation_page,
        accept_invitation,
        account_page,
        tokens_page,
        create_token,
        revoke_token,
        invite_page,
        invite,
    ],
    include_in_schema=False,
    exception_handlers=pages.EXCEPTION_HANDLERS,
)
