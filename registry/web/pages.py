"""The pages practice staff use (DESIGN §5, §7): ``/v`` and ``/v/{id}``, ``/directory``.

Controllers are thin: one service call each, then a template. Errors on these paths render as
pages, not problem documents: the people reading them are practice managers and GPs. CSS and
the one script are inlined from ``static/`` and pinned by hash in a strict Content-Security-Policy,
so a page is one request and nothing but our own code can run in it.
"""

from __future__ import annotations

import base64
import hashlib
import logging
from dataclasses import dataclass
from functools import cache
from http import HTTPStatus
from pathlib import Path
from typing import Annotated, Any, cast
from urllib.parse import urlencode

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from litestar import Controller, Request, Response, Router, get, post
from litestar.datastructures import UploadFile
from litestar.exceptions import HTTPException
from litestar.params import FromPath, MultipartBody, QueryParameter
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.response import Redirect, Template
from litestar.template.config import TemplateConfig

from registry.api.problems import passed_on_headers, status_of
from registry.domain import words
from registry.domain.certificate import ShownStatus
from registry.domain.certificate_id import (
    EXAMPLE,
    MistypedCertificateId,
    normalise_certificate_id,
)
from registry.errors import (
    RegistryError,
)
from registry.services import directory, verification
from registry.web import view
from schemas.criteria import EsfTier
from schemas.directory import (
    CRITERIA_SET_REF_PATTERN,
    DEFAULT_PAGE,
    MAX_PAGE,
    MAX_QUERY_CHARS,
    MAX_SUPPLIER_CHARS,
    SEARCH_TEXT_PATTERN,
    DirectoryQuery,
)

log = logging.getLogger("registry.web")

HERE = Path(__file__).parent
TEMPLATES = HERE / "templates"
STATIC = HERE / "static"

MAX_PDF_BYTES = verification.MAX_PDF_BYTES
# Room for the multipart envelope around the largest PDF we accept.
_UPLOAD_LIMIT = MAX_PDF_BYTES + 64 * 1024
# Raw input is echoed back into the form so people can correct it; never at any length.
_ECHO_LIMIT = 80
_PDF_MAGIC = b"%PDF-"


@dataclass(frozen=True, slots=True)
class Asset:
    """An inlined file and its CSP source expression."""

    text: str
    csp: str


@cache
def asset(name: str) -> Asset:
    """A file of ``static/`` to inline, and the CSP hash that lets exactly it run or style."""
    text = (STATIC / name).read_text(encoding="utf-8")
    digest = base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii")
    return Asset(text, f"'sha256-{digest}'")


def secure_headers(*, styles: tuple[str, ...], scripts: tuple[str, ...] = ()) -> dict[str, str]:
    """Every page's headers: a CSP allowing only the named inlined files, and no caching."""
    css = " ".join(asset(name).csp for name in styles)
    js = " ".join(asset(name).csp for name in scripts) or "'none'"
    return {
        "Content-Security-Policy": (
            f"default-src 'none'; style-src {css}; script-src {js}; connect-src 'self'; "
            "img-src 'self' data:; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
        ),
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        # A verdict is about now (a revocation must show on the next load), and work in
        # progress is one person's: never from a cache.
        "Cache-Control": "no-store",
    }


def _headers(*, script: bool = False) -> dict[str, str]:
    return secure_headers(styles=("site.css",), scripts=("paper-check.js",) if script else ())


def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        date=view.date,
        iso_date=view.iso_date,
        date_time=view.date_time,
        iso_date_time=view.iso_date_time,
        reason=words.reason,
        status_words=words.status_words,
        check_title=view.check_title,
        outcome_mark=view.outcome_mark,
        outcome_word=view.outcome_word,
        verdict_mark=view.verdict_mark,
        verdict_class=view.verdict_class,
    )
    env.globals.update(
        why_line=view.why_line,
        history=view.history,
        tally=view.tally,
        skipped_note=view.skipped_note,
        advisory_note=view.advisory_note,
        entry_state=view.entry_state,
        entry_why=view.entry_why,
        css=lambda: asset("site.css").text,
        paper_check_script=lambda: asset("paper-check.js").text,
        example_id=EXAMPLE,
        max_pdf_mb=MAX_PDF_BYTES // (1024 * 1024),
    )
    return env


def template_config() -> TemplateConfig[JinjaTemplateEngine]:
    """The app's template engine: Jinja with autoescaping on for every template."""
    return TemplateConfig(instance=JinjaTemplateEngine.from_environment(_environment()))


def _page(name: str, status: int = 200, *, script: bool = False, **context: Any) -> Template:
    return Template(
        template_name=name,
        context=context,
        status_code=status,
        headers=_headers(script=script),
    )


def page(template: str, status: int = 200, /, **context: Any) -> Template:
    """The page ``template`` with this module's headers (strict CSP, no caching)."""
    return Template(template_name=template, context=context, status_code=status, headers=_headers())


def _echo(text: str) -> str:
    text = text.strip()
    return text if len(text) <= _ECHO_LIMIT else text[:_ECHO_LIMIT] + "…"


def _mistyped(text: str, error: MistypedCertificateId) -> Template:
    """The 422 page: this ID looks mistyped (nothing was looked up), with the form to fix it."""
    return _form(
        422,
        heading="This ID looks mistyped",
        mistyped=True,
        wrong_check=error.wrong_check_character,
        summary=False,
        id_value=_echo(text),
        id_error="This ID looks mistyped. Check each character and try again.",
        id_detail=error.detail,
    )


def _form(status: int = 200, **context: Any) -> Template:
    values: dict[str, Any] = {
        "heading": "Check a certificate",
        "mistyped": False,
        "wrong_check": False,
        "summary": True,
        "id_value": "",
        "id_error": None,
        "id_detail": None,
        "pdf_error": None,
    }
    values.update(context)
    return _page("verify.html", status, **values)


@dataclass
class PdfForm:
    """The upload form: one file field (absent or empty when nothing was chosen)."""

    file: UploadFile | None = None


class VerifyPages(Controller):
    """``/v``: enter an ID or upload a PDF; ``/v/{id}``: the answer (where QR codes land)."""

    path = "/v"
    include_in_schema = False

    @get("/")
    async def form(
        self,
        certificate_id: Annotated[str | None, QueryParameter(name="id", max_length=400)] = None,
    ) -> Response[Any]:
        """The form; with ``?id=``, send the browser to that certificate's result page."""
        if certificate_id is None:
            return _form()
        if not certificate_id.strip():
            return _form(422, id_error=f"Enter the certificate ID, for example {EXAMPLE}.")
        try:
            display = normalise_certificate_id(certificate_id)
        except MistypedCertificateId as e:
            # Answered here rather than redirected: raw text may hold '/', '?' or '#'.
            return _mistyped(certificate_id, e)
        return Redirect(f"/v/{display}", status_code=303)

    @get("/{certificate_id:str}")
    async def result(self, certificate_id: FromPath[str]) -> Template:
        """The verdict for one certificate ID; a QR code's ``#statement`` is checked by script."""
        try:
            out = await verification.verify_id(certificate_id)
        except MistypedCertificateId as e:
            return _mistyped(certificate_id, e)
        return _page("result.html", out=out, uploaded=None, script=True)

    # No CSRF token: the form changes nothing and no session is involved (anyone may post it).
    @post(
        "/",
        status_code=200,
        request_max_body_size=_UPLOAD_LIMIT,
        opt={"exclude_from_csrf": True},
    )
    async def upload(self, data: MultipartBody[PdfForm]) -> Template:
        """Verify an uploaded certificate PDF and show the result page."""
        upload = data.file
        content = await upload.read(MAX_PDF_BYTES + 1) if upload else b""
        if not content:
            return _form(422, pdf_error="Choose the certificate PDF to check.")
        filename = _echo(upload.filename) if upload else ""
        if len(content) > MAX_PDF_BYTES:
            return _form(
                413,
                pdf_error=(
                    f"{filename} is too large: a certificate PDF is at most "
                    f"{MAX_PDF_BYTES // (1024 * 1024)} MB."
                ),
            )
        if _PDF_MAGIC not in content[:1024]:
            return _form(
                415,
                pdf_error=(
                    f"{filename} is not a PDF. Choose the certificate PDF the supplier gave you "
                    "(its name usually ends in .pdf)."
                ),
            )
        out = await verification.verify_pdf(content)
        return _page("result.html", out=out, uploaded=filename)


# --- the directory ----------------------------------------------------------------------------

# A GET form sends every field, chosen or not: an empty value means "any".
_ANY_STATUS = "^(?:" + "|".join(s.value for s in ShownStatus) + ")?$"
_ANY_TIER = "^[ABC]?$"
_ANY_CRITERIA_SET = "^(?:" + CRITERIA_SET_REF_PATTERN.removeprefix("^").removesuffix("$") + ")?$"


@get("/directory", include_in_schema=False)
async def directory_page(
    q: Annotated[str, QueryParameter(max_length=MAX_QUERY_CHARS, pattern=SEARCH_TEXT_PATTERN)] = "",
    status: Annotated[str, QueryParameter(pattern=_ANY_STATUS)] = "",
    tier: Annotated[str, QueryParameter(pattern=_ANY_TIER)] = "",
    supplier: Annotated[
        str, QueryParameter(max_length=MAX_SUPPLIER_CHARS, pattern=SEARCH_TEXT_PATTERN)
    ] = "",
    criteria_set: Annotated[str, QueryParameter(pattern=_ANY_CRITERIA_SET)] = "",
    cursor: Annotated[str, QueryParameter(max_length=200)] = "",
    limit: Annotated[int, QueryParameter(ge=1, le=MAX_PAGE)] = DEFAULT_PAGE,
) -> Template:
    """Search assessed products; every entry shows its status today and why."""
    page = await directory.search(
        DirectoryQuery(
            q=q,
            status=ShownStatus(status) if status else None,
            tier=cast("EsfTier", tier) if tier else None,
            supplier=supplier.strip() or None,
            criteria_set=criteria_set or None,
            cursor=cursor or None,
            limit=limit,
        )
    )
    chosen = {
        "q": q,
        "status": status,
        "tier": tier,
        "supplier": supplier,
        "criteria_set": criteria_set,
    }
    kept = {name: value for name, value in chosen.items() if value}
    if limit != DEFAULT_PAGE:
        kept["limit"] = str(limit)
    return _page(
        "directory.html",
        page=page,
        chosen=chosen,
        filtered=any(chosen.values()),
        first_page=not cursor,
        first_url="/directory?" + urlencode(kept) if kept else "/directory",
        next_url=(
            "/directory?" + urlencode({**kept, "cursor": page.next_cursor})
            if page.next_cursor
            else None
        ),
        statuses=[s.value for s in ShownStatus],
    )


# --- errors on these paths are pages too ------------------------------------------------------

_FRIENDLY = {
    400: ("Something in that request could not be read", "Go back and try again."),
    403: (
        "You cannot do that here",
        "If you were filling in a form, go back, reload the page and try again. If this page is "
        "not for your role, ask your organisation's administrator.",
    ),
    404: ("Page not found", "Check the address, or start again from the verification page."),
    405: ("That did not work", "Start again from the verification page."),
    413: (
        "That file is too large",
        f"A certificate PDF is at most {MAX_PDF_BYTES // (1024 * 1024)} MB.",
    ),
    409: ("That cannot be done just now", "Start again from the verification page."),
    415: ("That file is not a PDF", "Choose the certificate PDF the supplier gave you."),
    422: ("That could not be checked", "Go back and check what you entered."),
    429: (
        "Too many checks from your network",
        "Please wait a minute, then try again.",
    ),
    503: (
        "The registry cannot check certificates just now",
        "Please try again later. Nothing is wrong with the certificate because of this.",
    ),
}
_SERVER_ERROR = (
    "Sorry, something went wrong on our side",
    "The registry could not finish this check; it has been logged. Please try again shortly. "
    "This says nothing about the certificate itself.",
)


def _error_page(status: int, detail: str | None, headers: dict[str, str] | None = None) -> Template:
    heading, advice = _FRIENDLY.get(status, _SERVER_ERROR)
    response = _page(
        "error.html",
        status,
        heading=heading,
        advice=advice,
        detail=detail,
        status_phrase=HTTPStatus(status).phrase,
    )
    response.headers.update(headers or {})
    return response


def _registry_error(request: Request[Any, Any, Any], exc: RegistryError) -> Response[Any]:
    # The API's mapping decides the status (registry.api.problems: the one mapping).
    mapped = status_of(exc)
    if mapped is None:
        return _server_error(request, exc)
    return _error_page(mapped[0], exc.detail)


def _http_error(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    status = exc.status_code
    if status >= 500:
        return _server_error(request, exc)
    headers = {
        name: value
        for name, value in passed_on_headers(status, exc.headers).items()
        if name.lower().startswith(("ratelimit-", "retry-after"))
    }
    return _error_page(status, None, headers)


def _server_error(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    log.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return _error_page(500, None)


EXCEPTION_HANDLERS: dict[type[Exception] | int, Any] = {
    RegistryError: _registry_error,
    HTTPException: _http_error,
    Exception: _server_error,
}
"""Errors on page routes as pages: every router of pages registers these."""

router = Router(
    path="/",
    route_handlers=[VerifyPages, directory_page],
    include_in_schema=False,
    exception_handlers=EXCEPTION_HANDLERS,
)
