"""The one path from a template to PDF bytes: Jinja2 with autoescape, WeasyPrint, no fetching.

Rules enforced here:
- every template is rendered with autoescape on, so supplier text is always HTML-escaped; only
  markup we generate from numbers (charts, the QR code) is passed in as ``Markup``;
- every ``HTML`` gets a fresh ``RefusingFetcher`` and an inert base URL, so nothing is read from
  the network or the file system while rendering (templates are read once, from this package).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time

import jinja2
from weasyprint import HTML, Attachment

from reports.fetcher import INERT_BASE_URL, RefusingFetcher


@dataclass(frozen=True, slots=True)
class AttachedFile:
    """A file embedded in the PDF (``/EmbeddedFiles``), e.g. the signed statement."""

    name: str
    content: bytes
    description: str
    created: date | None = None


@functools.cache
def _environment() -> jinja2.Environment:
    # autoescape=True for every template regardless of file name; StrictUndefined so a missing
    # value is a loud error, not an empty field on a certificate.
    return jinja2.Environment(
        loader=jinja2.PackageLoader("reports", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render_html(template: str, context: Mapping[str, object]) -> str:
    """The escaped HTML of ``template`` with ``context``."""
    return _environment().get_template(template).render(context)


def html_to_pdf(html: str, attachments: Sequence[AttachedFile] = ()) -> bytes:
    """PDF bytes for ``html``, fetching nothing, with ``attachments`` embedded."""
    fetcher = RefusingFetcher()
    embedded = [
        Attachment(
            string=item.content,
            name=item.name,
            description=item.description,
            url_fetcher=fetcher,
            # Fixed dates so the same view gives the same attachment, not "now" each time.
            created=_midnight(item.created),
            modified=_midnight(item.created),
        )
        for item in attachments
    ]
    document = HTML(string=html, base_url=INERT_BASE_URL, url_fetcher=fetcher)
    pdf = document.write_pdf(attachments=embedded)
    if not isinstance(pdf, bytes):  # pragma: no cover - write_pdf(None) returns bytes
        raise TypeError("expected WeasyPrint to return PDF bytes")
    return pdf


def _midnight(day: date | None) -> datetime | None:
    return None if day is None else datetime.combine(day, time(), tzinfo=UTC)
