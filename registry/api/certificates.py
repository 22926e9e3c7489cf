"""Certificates (public reads, admin status changes, the assessment report) and trust material."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency, Provide
from litestar.params import JSONBody, PathParameter, QueryParameter

from registry.api.auth import SECURITY, provide_actor, provide_principal, requires
from registry.api.problems import problems
from registry.domain.identity import Principal, Role
from registry.services import certificates, issuance, keys
from registry.services.audit import Actor
from schemas.certificate import CertificateOut, StatusChange
from schemas.issuance import IssuanceList

CertificateId = Annotated[str, PathParameter(max_length=40, description="MKR-XXXX-XXXX-C")]
# A stored PDF never changes (it is content-addressed): cache it for a year, revalidate by ETag.
IMMUTABLE = "public, max-age=31536000, immutable"


class CertificateController(Controller):
    """Issued certificates."""

    path = "/v1/certificates"
    tags = ["certificates"]

    @get("/{certificate_id:str}", responses=problems(404, 422))
    async def read(self, certificate_id: CertificateId) -> CertificateOut:
        """A certificate with its current status, reasons and history (public)."""
        return await certificates.get_certificate(certificate_id)

    @get(
        "/{certificate_id:str}/pdf",
        responses=problems(404, 422),
        media_type="application/pdf",
    )
    async def pdf(
        self, certificate_id: CertificateId, request: Request[Any, Any, Any]
    ) -> Response[bytes]:
        """The signed PDF stored at issuance, with a strong ETag and long-lived caching."""
        data, digest, display = await certificates.pdf(certificate_id)
        etag = f'"{digest}"'
        headers = {
            "ETag": etag,
            "Cache-Control": IMMUTABLE,
            "Content-Disposition": f'inline; filename="{display}.pdf"',
        }
        if etag in [t.strip() for t in request.headers.get("if-none-match", "").split(",")]:
            return Response(b"", status_code=304, headers=headers, media_type="application/pdf")
        return Response(data, headers=headers, media_type="application/pdf")

    @get(
        "/{certificate_id:str}/statement",
        responses=problems(404, 422),
        media_type="application/jose",
    )
    async def statement(self, certificate_id: CertificateId) -> Response[str]:
        """The certificate's compact JWS (RFC 7515 §7.1)."""
        token = await certificates.statement(certificate_id)
        return Response(token, media_type="application/jose")

    @post(
        "/{certificate_id:str}/status",
        status_code=200,
        guards=[requires(Role.admin)],
        dependencies={"actor": Provide(provide_actor, sync_to_thread=False)},
        security=SECURITY,
        responses=problems(400, 401, 403, 404, 409, 422),
    )
    async def change_status(
        self,
        certificate_id: CertificateId,
        data: JSONBody[StatusChange],
        actor: NamedDependency[Actor],
    ) -> CertificateOut:
        """Suspend, reinstate or revoke, with a reason code and a note (admin)."""
        return await certificates.change_status(actor, certificate_id, data)

    @get(
        "/{certificate_id:str}/report.pdf",
        guards=[requires(Role.supplier_member, Role.reviewer, Role.admin)],
        dependencies={"principal": Provide(provide_principal, sync_to_thread=False)},
        security=SECURITY,
        responses=problems(401, 403, 404, 422),
        media_type="application/pdf",
    )
    async def report(
        self, certificate_id: CertificateId, principal: NamedDependency[Principal]
    ) -> Response[bytes]:
        """The full assessment report: every criterion, rationale, evidence and timeline."""
        data, display = await certificates.report(principal, certificate_id)
        return Response(
            data,
            media_type="application/pdf",
            headers={"Content-Disposition": f'inline; filename="{display}-report.pdf"'},
        )


@get(
    "/.well-known/jwks.json",
    tags=["trust"],
    summary="Signing keys (JWK Set)",
    responses=problems(503),
)
async def jwks() -> dict[str, Any]:
    """Signing keys that are not revoked, with their validity windows and x5c chains."""
    return await keys.jwks()


@get("/v1/trust", tags=["trust"], summary="Signed trust bundle", responses=problems(503))
async def trust() -> dict[str, Any]:
    """Root certificate, every signing certificate and its status, signed by the root."""
    document, token = await keys.trust_bundle()
    return {"document": document, "signed": token}


class IssuanceController(Controller):
    """Where every approval's certificate stands: issued, being issued, retrying or failed."""

    path = "/v1/issuance"
    tags = ["certificates"]
    guards = [requires(Role.admin)]
    security = SECURITY

    @get(responses=problems(400, 401, 403, 422))
    async def list_issuances(
        self,
        issuance_state: Annotated[
            Literal["pending", "issuing", "issued", "failed"] | None,
            QueryParameter(name="state"),  # ``state`` is reserved by Litestar
        ] = None,
        cursor: Annotated[str | None, QueryParameter(max_length=200)] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=200)] = 50,
    ) -> IssuanceList:
        """Approvals and their certificates' issuance, oldest change first, with the reason of
        any failure, the number of attempts and the next attempt's time."""
        return await issuance.list_issuances(issuance_state, cursor, limit)
