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

    @get(
        "/{certificate_id:str}",
        summary="Verify a certificate by ID",
        operation_id="verifyById",
        responses=problems(400, 422, 429, 503),
    )
    async def by_id(
        self,
        certificate_id: Annotated[
            str, PathParameter(max_length=40, description="MKR-XXXX-XXXX-C, as typed")
        ],
    ) -> VerificationOut:
        """Verify by certificate ID: the verdict and every check made (DESIGN §5).

        The ID is read the Crockford way (any case, hyphens optional); a mistyped one, whose
        check character is wrong, is a 422 that says so before any lookup. An ID the registry
        does not know is a 200 whose verdict is `not_good_to_go`.
        """
        return await verification.verify_id(certificate_id)

    @post(
        "/pdf",
        summary="Verify an uploaded certificate PDF",
        operation_id="verifyPdf",
        status_code=200,
        responses=problems(400, 413, 429, 503),
        request_max_body_size=verification.MAX_PDF_BYTES + 64 * 1024,
    )
    async def by_pdf(self, data: MultipartBody[PdfUpload]) -> VerificationOut:
        """Verify a certificate PDF sent as the multipart field `file`: its PAdES signature,
        that it covers the whole file, and the signed statement inside it (DESIGN §5).

        A PDF that is not ours, or was altered, is a 200 whose verdict is `not_good_to_go`;
        a file larger than the largest certificate PDF is a 413.
        """
        content = await data.file.read(verification.MAX_PDF_BYTES + 1)
        if len(content) > verification.MAX_PDF_BYTES:
            raise PayloadTooLarge(
                f"a certificate PDF is at most {verification.MAX_PDF_BYTES} bytes"
            )
        return await verification.verify_pdf(content)

    @post(
        "/statement",
        summary="Verify a signed statement or QR code text",
        operation_id="verifyStatement",
        status_code=200,
        responses=problems(400, 413, 422, 429, 503),
    )
    async def by_statement(self, data: JSONBody[StatementVerify]) -> VerificationOut:
        """Verify what a certificate's QR code holds: its verify URL (`…/v/{id}#{jws}`), the
        compact JWS alone (as `GET /v1/certificates/{id}/statement` gives it), or a bare ID.

        A forged or altered statement is a 200 whose verdict is `not_good_to_go`; text that is
        none of these is a 422.
        """
        return await verification.verify_statement_text(data.text)
