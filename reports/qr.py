"""The certificate's QR code: segno at error correction M, as inline SVG (DESIGN §4).

Rule enforced here: a QR above version 22 is refused (``QrTooLarge``) — issuance fails loudly
rather than print a code too dense for a phone to read from paper at 5 cm.
"""

from __future__ import annotations

import segno

from registry.domain.statement import MAX_QR_VERSION

__all__ = ["MAX_QR_VERSION", "QrTooLarge", "make_qr", "qr_svg"]


class QrTooLarge(ValueError):
    """The verify URL needs a QR code above version 22 at error correction M."""

    def __init__(self, version: int | str, length: int) -> None:
        super().__init__(
            f"expected a QR code of version ≤ {MAX_QR_VERSION} at error correction M, "
            f"got version {version} for a {length}-character verify URL; shorten the statement"
        )
        self.version = version
        self.length = length


def make_qr(text: str) -> segno.QRCode:
    """The QR code for ``text`` at level M (never boosted, never Micro QR); refuses > version 22."""
    try:
        # make_qr, not make: a short text must still give a full QR code, which every phone reads.
        # boost_error=False keeps the level at M so the version check means what DESIGN says.
        code = segno.make_qr(text, error="m", boost_error=False)
    except segno.DataOverflowError as error:
        raise QrTooLarge(">40", len(text)) from error
    version = int(code.version)  # make_qr never gives a Micro QR, whose versions are "M1".."M4"
    if version > MAX_QR_VERSION:
        raise QrTooLarge(version, len(text))
    return code


def qr_svg(text: str) -> str:
    """Inline ``<svg>`` markup (viewBox only, sized by CSS) for the QR code of ``text``."""
    # The 4-module quiet zone is part of the QR specification (ISO/IEC 18004 §6.3.8).
    return str(
        make_qr(text).svg_inline(
            border=4, omitsize=True, svgclass="qr", lineclass=None, dark="#000", light="#fff"
        )
    )
