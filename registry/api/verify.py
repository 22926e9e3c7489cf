"""Public verification: by ID, by uploaded PDF, by statement or QR text (DESIGN §5)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from litestar import Controller, get, post
from litestar.datastructures import UploadFile
from litestar.params import JSONBody, MultipartBody, PathParameter

from registry.api.problems import problems
from registry.errors import PayloadTooLarge
from registry.services import verification
from schemas.verification import StatementVerify, VerificationOut


@dataclass
class PdfUpload:
    """The multipart form of a PDF verification: one file."""

    file: UploadFile


class VerifyController(Controller):
    """Verification anyone can run, without an account."""

    path = "/v1/verify"
    tags = ["verification"]

    @get("/{certificate_id:str}", responses=problems(422, 429))
    async def by_id(
        self, certificate_id: Annotated[str, PathParameter(max_length=40)]
    ) -> VerificationOut:
        """Verify by certificate ID; a mistyped ID is a 422 that says so."""
        return await verification.verify_id(certificate_id)

    @post(
        "/pdf",
        status_code=200,
        responses=problems(400, 413, 429),
        request_max_body_size=verification.MAX_PDF_BYTES + 64 * 1024,
    )
    async def by_pdf(self, data: MultipartBody[PdfUpload]) -> VerificationOut:
        """Verify an uploaded certificate PDF (multipart field ``file``)."""
        content = await data.file.read(verification.MAX_PDF_BYTES + 1)
        if len(content) > verification.MAX_PDF_BYTES:
            raise PayloadTooLarge(
                f"a certificate PDF is at most {verification.MAX_PDF_BYTES} bytes"
            )
        return await verification.verify_pdf(content)

    @post("/statement", status_code=200, responses=problems(400, 422, 429))
    async def by_statement(self, data: JSONBody[StatementVerify]) -> VerificationOut:
        """Verify a compact JWS, or the full text of a certificate's QR code."""
        return await verification.verify_statement_text(data.text)
