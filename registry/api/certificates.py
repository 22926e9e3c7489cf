"""Certificates (public reads, admin status changes, the assessment report) and trust material."""

from __future__ import annotations

import inspect
from typing import Annotated, Literal

import msgspec
from litestar import Controller, Response, get, post
from litestar.datastructures import ResponseHeader
from litestar.di import NamedDependency, Provide
from litestar.params import JSONBody, KwargDefinition, PathParameter, QueryParameter

from registry.api.auth import SECURITY, provide_actor, provide_principal, requires
from registry.api.binary import binary_body
from registry.api.conditional import (
    IMMUTABLE,
    NOT_MODIFIED,
    REVALIDATE,
    IfNoneMatch,
    cache_headers,
    conditional,
)
from registry.api.problems import problems
from registry.domain.identity import Principal, Role
from registry.services import certificates, issuance, keys
from registry.services.audit import Actor
from schemas.certificate import CertificateOut, StatusChange
from schemas.issuance import IssuanceList
from schemas.trust import JwkSet, StatementClaims, TrustBundle

CertificateId = Annotated[str, PathParameter(max_length=40, description="MKR-XXXX-XXXX-C")]
PDF = "application/pdf"
# RFC 7515 §9.2.1: the media type of a compact JWS.
JOSE = "application/jose"
_CLAIMS_SCHEMA = {
    **msgspec.json.schema_components([StatementClaims])[1]["StatementClaims"],
    "description": inspect.cleandoc(StatementClaims.__doc__ or ""),
}
# What getStatement answers: a compact JWS whose payload (``contentSchema``) is the claims.
SignedStatement = Annotated[
    str,
    KwargDefinition(
        pattern=r"^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$",
        description=(
            "A compact JWS (RFC 7515 §7.1), header"
            ' {"alg": "ES256", "typ": "mkr-certificate+jws", "kid"}, whose payload is the'
            " canonical JSON of the claims described by contentSchema"
        ),
        schema_extra={"content_media_type": JOSE, "content_schema": _CLAIMS_SCHEMA},
    ),
]
_PDF_NAME = ResponseHeader(
    name="Content-Disposition",
    description='inline; filename="MKR-XXXX-XXXX-C.pdf"',
    documentation_only=True,
)
_RATE_LIMITED = 429  # every path under /v1/certificates is public (registry.api.client_address)


class CertificateController(Controller):
    """Issued certificates."""

    path = "/v1/certificates"
    tags = ["certificates"]

    @get(
        "/{certificate_id:str}",
        summary="Get a certificate",
        operation_id="getCertificate",
        response_headers=cache_headers(REVALIDATE),
        responses={**NOT_MODIFIED, **problems(400, 404, 422, _RATE_LIMITED)},
    )
    async def read(
        self, certificate_id: CertificateId, if_none_match: IfNoneMatch = None
    ) -> Response[CertificateOut]:
        """A certificate with its current status, reasons and history (public).

        The status can change at any time, so the answer is sent with `Cache-Control: no-cache`
        and a strong ETag: revalidate with `If-None-Match` for a 304 while nothing changed.
        """
        certificate = await certificates.get_certificate(certificate_id)
        return conditional(
            msgspec.json.encode(certificate),
            if_none_match=if_none_match,
            media_type="application/json",
            cache_control=REVALIDATE,
        )

    @get(
        "/{certificate_id:str}/pdf",
        summary="Get a certificate's signed PDF",
        operation_id="getCertificatePdf",
        media_type=PDF,
        operation_class=binary_body(PDF),
        response_headers=[*cache_headers(IMMUTABLE), _PDF_NAME],
        responses={**NOT_MODIFIED, **problems(400, 404, 422, _RATE_LIMITED)},
    )
    async def pdf(
        self, certificate_id: CertificateId, if_none_match: IfNoneMatch = None
    ) -> Response[bytes]:
        """The PAdES-signed PDF stored at issuance (public).

        It is never re-rendered, so it is cacheable for a year; its ETag is its SHA-256 (the
        certificate's `pdf_sha256`). Whether it still holds is for verification to say.
        """
        data, _, display = await certificates.pdf(certificate_id)
        return conditional(
            data,
            if_none_match=if_none_match,
            media_type=PDF,
            cache_control=IMMUTABLE,
            headers={"Content-Disposition": f'inline; filename="{display}.pdf"'},
        )

    @get(
        "/{certificate_id:str}/statement",
        summary="Get a certificate's signed statement",
        operation_id="getStatement",
        media_type=JOSE,
        # Needed: without it Litestar looks the return type up in a dict to describe it, and
        # SignedStatement (its schema_extra holds a dict) cannot be hashed.
        response_description="The statement as a compact JWS",
        response_headers=cache_headers(IMMUTABLE),
        responses={**NOT_MODIFIED, **problems(400, 404, 422, _RATE_LIMITED)},
    )
    async def statement(
        self, certificate_id: CertificateId, if_none_match: IfNoneMatch = None
    ) -> Response[SignedStatement]:
        """The certificate's signed statement: a compact JWS (RFC 7515 §7.1), as its QR code
        carries it (public).

        Header `{"alg": "ES256", "typ": "mkr-certificate+jws", "kid"}`, `kid` naming a key of
        `/.well-known/jwks.json` and `/v1/trust`. The payload is canonical JSON of these claims
        (the response schema's `contentSchema`): `iss` issuer (the registry's base URL), `cid`
        certificate ID, `pn` / `pv` product name and version, `sn` supplier name (each at most
        60 characters), `cs` criteria set `key/version`, `csh` its SHA-256, `dh` the assessed
        dossier revision's SHA-256 (both base64url), `iat` issued at and `exp` valid until (both
        integer UTC seconds, as JWS claims are). Signed once at issuance, so cacheable for a
        year.
        """
        token = await certificates.statement(certificate_id)
        return conditional(
            token.encode("ascii"),
            if_none_match=if_none_match,
            media_type=JOSE,
            cache_control=IMMUTABLE,
        )

    @post(
        "/{certificate_id:str}/status",
        summary="Change a certificate's status",
        operation_id="changeCertificateStatus",
        status_code=200,
        guards=[requires(Role.admin)],
        dependencies={"actor": Provide(provide_actor, sync_to_thread=False)},
        security=SECURITY,
        responses=problems(400, 401, 403, 404, 409, 413, 422, _RATE_LIMITED),
    )
    async def change_status(
        self,
        certificate_id: CertificateId,
        data: JSONBody[StatusChange],
        actor: NamedDependency[Actor],
    ) -> CertificateOut:
        """Suspend, reinstate or revoke, with a reason code and a note (admin).

        Revoked and superseded are final: changing them is a 409.
        """
        return await certificates.change_status(actor, certificate_id, data)

    @get(
        "/{certificate_id:str}/report.pdf",
        summary="Get a certificate's full assessment report",
        operation_id="getAssessmentReport",
        guards=[requires(Role.supplier_member, Role.reviewer, Role.admin)],
        dependencies={"principal": Provide(provide_principal, sync_to_thread=False)},
        security=SECURITY,
        media_type=PDF,
        operation_class=binary_body(PDF),
        response_headers=[_PDF_NAME],
        responses=problems(400, 401, 403, 404, 422, _RATE_LIMITED),
    )
    async def report(
        self, certificate_id: CertificateId, principal: NamedDependency[Principal]
    ) -> Response[bytes]:
        """The full assessment report: every criterion, rationale, evidence and timeline
        (the supplier, its reviewers and admins)."""
        data, display = await certificates.report(principal, certificate_id)
        return Response(
            data,
            media_type=PDF,
            headers={"Content-Disposition": f'inline; filename="{display}-report.pdf"'},
        )


@get(
    "/.well-known/jwks.json",
    tags=["trust"],
    summary="Get the signing keys (JWK Set)",
    operation_id="getJwks",
    responses=problems(429, 503),
)
async def jwks() -> JwkSet:
    """Signing keys that are not revoked (RFC 7517 §5), with their validity windows and `x5c`
    chains; a revoked key leaves this set and stays in `/v1/trust` with its revocation time."""
    return msgspec.convert(await keys.jwks(), JwkSet)


@get(
    "/v1/trust",
    tags=["trust"],
    summary="Get the signed trust bundle",
    operation_id="getTrustBundle",
    responses=problems(429, 503),
)
async def trust() -> TrustBundle:
    """The root certificate and every signing key with its status, signed by the root, for
    verifiers to cache (DESIGN §4). Verify `signed` and pin the root by its SHA-256; `document`
    repeats the signed payload for reading."""
    document, token = await keys.trust_bundle()
    return msgspec.convert({"document": document, "signed": token}, TrustBundle)


class IssuanceController(Controller):
    """Where every approval's certificate stands: issued, being issued, retrying or failed."""

    path = "/v1/issuance"
    tags = ["certificates"]
    guards = [requires(Role.admin)]
    security = SECURITY

    @get(
        summary="List certificate issuances",
        operation_id="listIssuances",
        responses=problems(400, 401, 403, 422),
    )
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
        any failure, the number of attempts and the next attempt's time (admin)."""
        return await issuance.list_issuances(issuance_state, cursor, limit)
