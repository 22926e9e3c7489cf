"""Renderer safety (DESIGN §4): supplier text is printed literally and rendering fetches nothing.

A trap HTTP server on 127.0.0.1 counts every connection; hostile supplier text points at it and at
``file:///etc/passwd``. Nothing may reach the trap, nothing of /etc/passwd may reach the PDF, and
every hostile string must appear in the PDF's text exactly as typed.
"""

from __future__ import annotations

import logging
import re
import shutil
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from io import BytesIO
from pathlib import Path
from socket import socket

import pytest
from pyhanko.pdf_utils.reader import PdfFileReader
from weasyprint.urls import URLFetchingError, fetch

from reports import (
    CertificateView,
    CriterionLine,
    EvidenceLine,
    FetchRefused,
    RefusingFetcher,
    ReportView,
    SectionOutcome,
    render_assessment_report,
    render_certificate,
)
from reports.pdf import html_to_pdf

PASSWD_MARKER = "root:x:0:0"


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = b"body { background: red }"
        self.send_response(200)
        self.send_header("Content-Type", "text/css")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


class TrapServer(ThreadingHTTPServer):
    """Counts every connection, before any request parsing, so even a malformed fetch counts."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.connections = 0

    def process_request(
        self, request: socket | tuple[bytes, socket], client_address: object
    ) -> None:
        self.connections += 1  # serve_forever calls this from its one thread: no race
        super().process_request(request, client_address)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


@pytest.fixture(scope="module")
def trap() -> Iterator[TrapServer]:
    server = TrapServer()
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.daemon = True
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def hostile_strings(trap_url: str) -> list[str]:
    """Markup, resource references and template syntax a supplier might type into any field."""
    return [
        "<b>bold</b>",
        "<script>alert('owned')</script>",
        '<img src="file:///etc/passwd">',
        f'<img src="{trap_url}/img.png">',
        f"<style>@import url({trap_url}/x.css);</style>",
        f'<p style="background: url({trap_url}/bg.png)">styled</p>',
        f'<link rel="stylesheet" href="{trap_url}/s.css">',
        '<link rel="attachment" href="file:///etc/passwd">',
        f'<a rel="attachment" href="{trap_url}/a.bin">file</a>',
        f'<svg><image href="{trap_url}/svg.png"/></svg>',
        f'<object data="{trap_url}/o.bin"></object>',
        f'<base href="{trap_url}/">',
        "{{ 7 * 7 }} {% raw %}",
        "&amp; &lt; &#60;",
    ]


@dataclass(frozen=True, slots=True)
class Rendered:
    certificate: bytes
    report: bytes
    strings: list[str]
    log: list[logging.LogRecord]


@pytest.fixture(scope="module")
def rendered(trap: TrapServer) -> Rendered:
    strings = hostile_strings(trap.url)
    everything = " ".join(strings)
    jws = "eyJhbGciOiJFUzI1NiJ9.eyJ4IjoxfQ.c2ln"
    certificate = CertificateView(
        certificate_id="MKR-7Q4K-9X2M-G",
        product_name=strings[0] + " " + strings[2],
        product_version="1.0",
        supplier_name=strings[1] + " " + strings[4],
        intended_purpose=everything,
        population=strings[3:6],
        settings=strings[6:9],
        esf_tier=strings[5],
        device_class=strings[7],
        criteria_set_ref="kitemark-core/1",
        criteria_set_title=strings[9],
        sections=[SectionOutcome("C4", strings[10], 70, 60, True, strings[11])],
        issued_at=date(2025, 3, 3),
        valid_until=date(2026, 3, 2),
        verify_url=f"https://registry.example.nhs.uk/v/MKR-7Q4K-9X2M-G#{jws}",
        verify_base="https://registry.example.nhs.uk/v",
        statement_jws=jws,
    )
    report = ReportView(
        product_name=strings[0] + " " + strings[2],
        product_version="1.0",
        supplier_name=strings[1],
        intended_purpose=strings[12],
        esf_tier="B",
        device_class="none",
        criteria_set_ref="kitemark-core/1",
        criteria_set_title=strings[13],
        criteria_set_sha256="a" * 64,
        dossier_sha256="b" * 64,
        revision=1,
        decision=strings[6],
        generated_at=date(2025, 3, 3),
        sections=[("C4", strings[10], 70, 60, True, strings[11])],
        criteria=[
            CriterionLine(
                "C4", "C4.1", strings[9], "scored", strings[8], 3, 4, [(strings[3], everything)]
            ),
        ],
        evidence=[EvidenceLine(strings[2], strings[7], "c" * 64, None, strings[4], [strings[5]])],
        timeline=[(date(2025, 3, 3), everything)],
    )
    handler = _Collect()
    logger = logging.getLogger("weasyprint")
    logger.addHandler(handler)
    try:
        result = Rendered(
            render_certificate(certificate), render_assessment_report(report), strings, []
        )
    finally:
        logger.removeHandler(handler)
    result.log.extend(handler.records)
    return result


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.WARNING)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def pdf_text(pdf: bytes, directory: Path) -> str:
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext (poppler-utils) is not installed")
    path = directory / "hostile.pdf"
    path.write_bytes(pdf)
    result = subprocess.run(
        ["pdftotext", "-enc", "UTF-8", str(path), "-"], capture_output=True, check=True
    )
    assert result.stderr == b"", result.stderr  # poppler reads the PDF without complaint
    return result.stdout.decode("utf-8")


def without_space(text: str) -> str:
    # Lines wrap wherever the layout chose; what matters is every other character, as typed.
    return re.sub(r"\s+", "", text)


def embedded_names(pdf: bytes) -> list[str]:
    root = PdfFileReader(BytesIO(pdf)).root
    if "/Names" not in root or "/EmbeddedFiles" not in root["/Names"]:
        return []
    names = root["/Names"]["/EmbeddedFiles"]["/Names"]
    return [str(names[i]) for i in range(0, len(names), 2)]


@pytest.mark.parametrize("document", ["certificate", "report"])
def test_supplier_text_is_printed_literally(
    rendered: Rendered, document: str, tmp_path: Path
) -> None:
    text = without_space(pdf_text(getattr(rendered, document), tmp_path))
    for hostile in rendered.strings:
        assert without_space(hostile) in text, hostile
    assert PASSWD_MARKER not in text


def test_nothing_was_fetched_or_even_attempted(rendered: Rendered, trap: TrapServer) -> None:
    assert trap.connections == 0
    # Escaped text never reaches WeasyPrint as markup, so it did not even ask the fetcher.
    assert [record.getMessage() for record in rendered.log] == []


def test_no_file_was_attached_from_supplier_text(rendered: Rendered) -> None:
    assert embedded_names(rendered.certificate) == ["statement.jws"]
    assert embedded_names(rendered.report) == []


def test_unescaped_markup_still_fetches_nothing(
    trap: TrapServer, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Defence in depth: even markup that got past escaping reaches neither network nor disk."""
    html = "<!DOCTYPE html><html><head>{}</head><body><p>marker</p>{}</body></html>".format(
        f'<link rel="stylesheet" href="{trap.url}/head.css">'
        '<link rel="attachment" href="file:///etc/passwd">',
        "".join(hostile_strings(trap.url))
        + '<img src="/etc/passwd"><img src="../../../../etc/passwd">'
        + f"<style>@font-face {{ font-family: x; src: url({trap.url}/f.ttf) }}"
        + " p { font-family: x }</style>",
    )
    with caplog.at_level(logging.ERROR, logger="weasyprint"):
        pdf = html_to_pdf(html)
    assert trap.connections == 0
    assert embedded_names(pdf) == []
    text = pdf_text(pdf, tmp_path)
    assert "marker" in text
    assert PASSWD_MARKER not in text
    # Not vacuous: WeasyPrint did ask, and our fetcher refused.
    assert any("expected no fetch" in record.getMessage() for record in caplog.records)


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "FILE:///etc/passwd",
        "{trap}/plain",
        "https://127.0.0.1:{port}/tls",
        "ftp://127.0.0.1:{port}/f",
        "data:text/plain,hello",
        "x.png",
        "../../../etc/passwd",
        "/etc/passwd",
        "//127.0.0.1:{port}/scheme-relative",
    ],
)
def test_fetcher_refuses_every_url(trap: TrapServer, url: str) -> None:
    url = url.format(trap=trap.url, port=trap.server_address[1])
    fetcher = RefusingFetcher()
    with pytest.raises(FetchRefused):
        fetcher.fetch(url)
    with pytest.raises(FetchRefused):
        fetcher(url)
    # The path WeasyPrint itself takes: a refusal becomes a non-fatal URLFetchingError.
    with pytest.raises(URLFetchingError, match="FetchRefused"), fetch(fetcher, url):
        pass
    assert fetcher.refused == [url, url, url]
    assert trap.connections == 0
