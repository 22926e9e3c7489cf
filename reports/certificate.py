"""The "good to go" certificate: one A4 page a practice manager can read, file and verify.

It states what DOMAIN.md says practices need (purpose, for whom, where, ESF tier, device class,
criteria set and version, outcome per section, issue and expiry dates) and how to check it is
still good to go today, and carries the verify URL as a QR code and the signed statement as an
attached ``statement.jws`` (DESIGN §4). PAdES signing happens afterwards, in ``registry.signing``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import NamedTuple

from markupsafe import Markup

from registry.domain.dates import as_date, long_date
from reports.charts import bar_chart_svg
from reports.pdf import AttachedFile, html_to_pdf, render_html
from reports.qr import qr_svg

STATEMENT_FILENAME = "statement.jws"

ESF_TIERS = {
    "A": "Tier A: system services with no direct patient outcome",
    "B": "Tier B: helps people understand or manage their health",
    "C": "Tier C: treats, diagnoses or guides care decisions",
}
DEVICE_CLASSES = {
    "none": "Not a medical device",
    "I": "Medical device, class I (self-declared by the manufacturer)",
    "IIa": "Medical device, class IIa (certified by an Approved Body)",
    "IIb": "Medical device, class IIb (certified by an Approved Body)",
    "III": "Medical device, class III (certified by an Approved Body)",
}

_COMPACT_ID = re.compile(r"^MKR([0-9A-Z]{4})([0-9A-Z]{4})([0-9A-Z])$")


class SectionOutcome(NamedTuple):
    """One section's result: its percentage (None if it has only gates) against its threshold."""

    code: str
    title: str
    percent: int | None
    threshold: int
    gates_passed: bool | None  # None when the section has no applicable gate
    outcome: str  # plain words, e.g. "Met"


@dataclass(frozen=True, slots=True)
class CertificateView:
    """Everything the certificate prints, as plain values; supplier text is escaped on render."""

    certificate_id: str
    product_name: str
    product_version: str
    supplier_name: str
    intended_purpose: str
    population: Sequence[str]  # who it is for, one line each
    settings: Sequence[str]  # where it is used, one line each
    esf_tier: str  # "A" | "B" | "C"
    device_class: str  # "none" | "I" | "IIa" | "IIb" | "III"
    criteria_set_ref: str  # "kitemark-core/1"
    criteria_set_title: str
    sections: Sequence[SectionOutcome | tuple[str, str, int | None, int, bool | None, str]]
    issued_at: date | int  # a date, or integer UTC seconds
    valid_until: date | int
    verify_url: str  # "{base}/v/{id}#{jws}": the QR code's text
    verify_base: str  # "https://registry.example/v": where a person types the ID
    statement_jws: str
    registry_name: str = field(default="Kitemark Registry")


def display_id(certificate_id: str) -> str:
    """``MKR-XXXX-XXXX-C`` for an ID given with or without hyphens; anything else unchanged."""
    match = _COMPACT_ID.match(certificate_id.replace("-", "").upper())
    return "MKR-{}-{}-{}".format(*match.groups()) if match else certificate_id


def render_certificate(view: CertificateView) -> bytes:
    """The certificate PDF (unsigned) for ``view``; raises ``QrTooLarge`` above QR version 22."""
    _check_verify_url(view)
    qr = Markup(qr_svg(view.verify_url))  # noqa: S704 — segno output: only numbers, no input text
    issued = as_date(view.issued_at)
    context = {
        "v": view,
        "certificate_id": display_id(view.certificate_id),
        "issued": long_date(issued),
        "valid_until": long_date(view.valid_until),
        "esf_text": ESF_TIERS.get(view.esf_tier, f"Tier {view.esf_tier}"),
        "device_text": DEVICE_CLASSES.get(view.device_class, view.device_class),
        "sections": [_section_row(SectionOutcome(*section)) for section in view.sections],
        "qr": qr,
        # Only a web address becomes a link; the text is printed either way.
        "verify_link": view.verify_base.startswith(("https://", "http://")),
    }
    statement = AttachedFile(
        name=STATEMENT_FILENAME,
        content=view.statement_jws.encode("ascii"),
        description="Signed certificate statement (compact JWS, RFC 7515)",
        created=issued,
    )
    return html_to_pdf(render_html("certificate.html", context), [statement])


def _section_row(section: SectionOutcome) -> dict[str, object]:
    chart = None
    if section.percent is not None:
        chart = Markup(bar_chart_svg(section.percent, section.threshold))  # noqa: S704 — numbers only
    return {"s": section, "chart": chart}


def _check_verify_url(view: CertificateView) -> None:
    # The QR must carry this certificate's statement under the address printed beside it: a
    # mismatch is a caller bug that would send a reader to the wrong place, so it fails loudly.
    prefix = view.verify_base.rstrip("/") + "/"
    suffix = "#" + view.statement_jws
    if not (view.verify_url.startswith(prefix) and view.verify_url.endswith(suffix)):
        raise ValueError(
            f"expected verify_url as {prefix}{{id}}#{{statement_jws}}, "
            f"got {view.verify_url[:80]!r}…"
        )
