"""Products, dossiers, answers, evidence, submission and revisions (supplier members)."""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass
from typing import Annotated

import msgspec
from litestar import Controller, Response, delete, get, patch, post, put
from litestar.datastructures import UploadFile
from litestar.di import NamedDependency, Provide
from litestar.params import (
    FromPath,
    HeaderParameter,
    JSONBody,
    MultipartBody,
    PathParameter,
    QueryParameter,
)

from registry.api.auth import SECURITY, provide_principal, requires
from registry.api.problems import problems
from registry.domain.identity import Principal, Role
from registry.errors import InvalidInput
from registry.services import dossiers, evidence, feedback, products
from registry.settings import get_settings
from schemas.dossier import (
    AnswerOut,
    AnswerPut,
    CompletenessOut,
    DossierCreate,
    DossierOut,
    DossierPage,
    DossierUpdate,
    EvidenceMeta,
    EvidenceOut,
    ProductCreate,
    ProductOut,
    ProductPage,
    RevisionDiff,
    RevisionList,
    RevisionOut,
)
from schemas.feedback import FeedbackOut

Limit = Annotated[int, QueryParameter(ge=1, le=200)]
Cursor = Annotated[str | None, QueryParameter(max_length=200)]
_PRINCIPAL = {"principal": Provide(provide_principal, sync_to_thread=False)}
_SUPPLIER = [requires(Role.supplier_member)]
_READERS = [requires(Role.supplier_member, Role.admin, Role.reviewer)]


class ProductController(Controller):
    """A supplier organisation's products."""

    path = "/v1/products"
    tags = ["products"]
    dependencies = _PRINCIPAL
    security = SECURITY

    @post(guards=_SUPPLIER, responses=problems(400, 401, 403))
    async def create(
        self, data: JSONBody[ProductCreate], principal: NamedDependency[Principal]
    ) -> ProductOut:
        """Register a product of the caller's organisation."""
        return await products.create_product(principal, data)

    @get(guards=_SUPPLIER, responses=problems(400, 401, 403, 422))
    async def list_own(
        self, principal: NamedDependency[Principal], cursor: Cursor = None, limit: Limit = 50
    ) -> ProductPage:
        """The caller's organisation's products, oldest first."""
        return await products.list_products(principal, cursor, limit)

    @get("/{product_id:str}", guards=_SUPPLIER, responses=problems(401, 403, 404))
    async def read(
        self, product_id: FromPath[str], principal: NamedDependency[Principal]
    ) -> ProductOut:
        """One of the caller's organisation's products."""
        return await products.get_product(principal, product_id)


def _with_etag(out: DossierOut) -> Response[DossierOut]:
    return Response(out, headers={"ETag": out.etag})


@dataclass
class EvidenceForm:
    """The multipart form of an evidence upload."""

    file: UploadFile
    document_type: str
    criteria: str  # criterion codes separated by commas or spaces
    expires_on: str | None = None
    issued_on: str | None = None


_SAFE_FILENAME = re.compile(r"[^A-Za-z0-9._-]+")


class DossierController(Controller):
    """Dossiers of the caller's organisation, and everything inside them."""

    path = "/v1/dossiers"
    tags = ["dossiers"]
    dependencies = _PRINCIPAL
    security = SECURITY

    @post(guards=_SUPPLIER, responses=problems(400, 401, 403, 404, 422))
    async def create(
        self, data: JSONBody[DossierCreate], principal: NamedDependency[Principal]
    ) -> Response[DossierOut]:
        """Start a dossier for a product version against a published criteria set."""
        out = await dossiers.create_dossier(principal, data)
        return Response(out, status_code=201, headers={"ETag": out.etag})

    @get(guards=_SUPPLIER, responses=problems(400, 401, 403, 422))
    async def list_own(
        self, principal: NamedDependency[Principal], cursor: Cursor = None, limit: Limit = 50
    ) -> DossierPage:
        """The caller's organisation's dossiers, most recently changed first."""
        return await dossiers.list_dossiers(principal, cursor, limit)

    @get("/{dossier_id:str}", guards=_READERS, responses=problems(401, 403, 404))
    async def read(
        self, dossier_id: FromPath[str], principal: NamedDependency[Principal]
    ) -> Response[DossierOut]:
        """The dossier with its current revision; the ETag header is what PATCH must send."""
        return _with_etag(await dossiers.get_dossier(principal, dossier_id))

    @patch(
        "/{dossier_id:str}", guards=_SUPPLIER, responses=problems(400, 401, 403, 404, 409, 412, 428)
    )
    async def update(
        self,
        dossier_id: FromPath[str],
        data: JSONBody[DossierUpdate],
        principal: NamedDependency[Principal],
        if_match: Annotated[str | None, HeaderParameter(name="If-Match")] = None,
    ) -> Response[DossierOut]:
        """Change the product version or summary of a draft; If-Match required."""
        return _with_etag(await dossiers.update_dossier(principal, dossier_id, data, if_match))

    @put(
        "/{dossier_id:str}/answers/{criterion_code:str}",
        guards=_SUPPLIER,
        responses=problems(400, 401, 403, 404, 409, 422),
    )
    async def answer(
        self,
        dossier_id: FromPath[str],
        criterion_code: Annotated[str, PathParameter(max_length=32)],
        data: JSONBody[AnswerPut],
        principal: NamedDependency[Principal],
    ) -> Response[AnswerOut | None]:
        """Store one answer in the current draft (null clears it: 204)."""
        out = await dossiers.put_answer(principal, dossier_id, criterion_code, data)
        return Response(out, status_code=200 if out else 204)

    @get("/{dossier_id:str}/completeness", guards=_READERS, responses=problems(401, 403, 404))
    async def completeness(
        self, dossier_id: FromPath[str], principal: NamedDependency[Principal]
    ) -> CompletenessOut:
        """What is still missing before the current revision can be submitted."""
        return await dossiers.completeness(principal, dossier_id)

    @post(
        "/{dossier_id:str}/submit",
        guards=_SUPPLIER,
        status_code=200,
        responses=problems(401, 403, 404, 409, 422),
    )
    async def submit(
        self, dossier_id: FromPath[str], principal: NamedDependency[Principal]
    ) -> RevisionOut:
        """Freeze the current revision (SHA-256 of its canonical content) and queue it."""
        return await dossiers.submit(principal, dossier_id)

    @post(
        "/{dossier_id:str}/withdraw",
        guards=_SUPPLIER,
        status_code=200,
        responses=problems(401, 403, 404, 409),
    )
    async def withdraw(
        self, dossier_id: FromPath[str], principal: NamedDependency[Principal]
    ) -> Response[DossierOut]:
        """Take back an unclaimed submission; the next revision starts as a draft copy."""
        return _with_etag(await dossiers.withdraw(principal, dossier_id))

    @get("/{dossier_id:str}/revisions", guards=_READERS, responses=problems(401, 403, 404))
    async def revisions(
        self, dossier_id: FromPath[str], principal: NamedDependency[Principal]
    ) -> RevisionList:
        """Every revision, oldest first."""
        return await dossiers.list_revisions(principal, dossier_id)

    @get(
        "/{dossier_id:str}/revisions/{number:int}/feedback",
        guards=[requires(Role.supplier_member, Role.admin)],
        responses=problems(400, 401, 403, 404, 409),
    )
    async def feedback(
        self,
        dossier_id: FromPath[str],
        number: Annotated[int, PathParameter(ge=1)],
        principal: NamedDependency[Principal],
    ) -> FeedbackOut:
        """A decided revision's outcome, section scores against thresholds, gate results, every
        reviewer's summary and comments (as "Reviewer 1", "Reviewer 2", "Moderator"), and what
        to change; 409 while the revision is not decided yet."""
        return await feedback.revision_feedback(principal, dossier_id, number)

    @get(
        "/{dossier_id:str}/revisions/{number:int}/diff",
        guards=_READERS,
        responses=problems(400, 401, 403, 404),
    )
    async def diff(
        self,
        dossier_id: FromPath[str],
        number: Annotated[int, PathParameter(ge=1)],
        principal: NamedDependency[Principal],
    ) -> RevisionDiff:
        """What changed in revision ``number`` since the previous one."""
        return await dossiers.revision_diff(principal, dossier_id, number)

    @post(
        "/{dossier_id:str}/evidence",
        guards=_SUPPLIER,
        responses=problems(400, 401, 403, 404, 409, 413, 415, 422),
        request_max_body_size=get_settings().evidence_max_file_bytes + 64 * 1024,
    )
    async def upload(
        self,
        dossier_id: FromPath[str],
        data: MultipartBody[EvidenceForm],
        principal: NamedDependency[Principal],
    ) -> EvidenceOut:
        """Upload a file (multipart: file, document_type, criteria, expires_on, issued_on)."""
        try:
            meta = msgspec.convert(
                {
                    "document_type": data.document_type,
                    "criteria": [c for c in re.split(r"[,\s]+", data.criteria) if c],
                    "label": (data.file.filename or "upload")[:255],
                    "declared_type": data.file.content_type or "",
                    "expires_on": data.expires_on or None,
                    "issued_on": data.issued_on or None,
                },
                EvidenceMeta,
            )
        except msgspec.ValidationError as e:
            raise InvalidInput(f"evidence form: {e}") from e
        content = await data.file.read()
        return await evidence.upload(principal, dossier_id, meta, content)

    @get(
        "/{dossier_id:str}/evidence/{evidence_id:str}",
        guards=_READERS,
        responses=problems(401, 403, 404),
        media_type="application/octet-stream",
    )
    async def download(
        self,
        dossier_id: FromPath[str],
        evidence_id: FromPath[str],
        principal: NamedDependency[Principal],
    ) -> Response[bytes]:
        """The exact bytes uploaded, with their SHA-256 (Repr-Digest, ETag)."""
        record, content = await evidence.download(principal, dossier_id, evidence_id)
        digest_b64 = base64.b64encode(bytes.fromhex(record.sha256)).decode()
        filename = _SAFE_FILENAME.sub("_", record.label)[:100] or "evidence"
        return Response(
            content,
            media_type=record.media_type,
            headers={
                "ETag": f'"{record.sha256}"',
                "Repr-Digest": f"sha-256=:{digest_b64}:",  # RFC 9530 §3
                "X-Content-SHA256": record.sha256,
                "Content-Disposition": f'attachment; filename="{filename}"',
                "X-Content-Type-Options": "nosniff",
            },
        )

    @delete(
        "/{dossier_id:str}/evidence/{evidence_id:str}",
        guards=_SUPPLIER,
        responses=problems(401, 403, 404, 409),
    )
    async def remove(
        self,
        dossier_id: FromPath[str],
        evidence_id: FromPath[str],
        principal: NamedDependency[Principal],
    ) -> None:
        """Delete a file from the current draft (never from a submitted revision)."""
        await evidence.delete(principal, dossier_id, evidence_id)
