"""Products, dossiers, answers, evidence, submission and revisions (supplier members)."""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass
from typing import Annotated

import msgspec
from litestar import Controller, Response, delete, get, patch, post, put
from litestar.datastructures import ResponseHeader, UploadFile
from litestar.di import NamedDependency, Provide
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import (
    FromPath,
    HeaderParameter,
    JSONBody,
    KwargDefinition,
    MultipartBody,
    PathParameter,
    QueryParameter,
)

from registry.api.auth import SECURITY, provide_principal, requires
from registry.api.binary import binary_body
from registry.api.problems import describe_invalid, problems
from registry.domain.criteria import DOCUMENT_TYPES
from registry.domain.identity import Principal, Role
from registry.domain.sniff import ACCEPTED
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

    @post(
        guards=_SUPPLIER,
        operation_id="createProduct",
        summary="Register a product",
        responses=problems(400, 401, 403, 413),
    )
    async def create(
        self, data: JSONBody[ProductCreate], principal: NamedDependency[Principal]
    ) -> ProductOut:
        """Register a product of your supplier organisation, with its intended purpose and profile
        (ESF tier, device class and the other facts that decide which criteria apply). Supplier
        members only.
        """
        return await products.create_product(principal, data)

    @get(
        guards=_SUPPLIER,
        operation_id="listProducts",
        summary="List your organisation's products",
        responses=problems(400, 401, 403, 422),
    )
    async def list_own(
        self, principal: NamedDependency[Principal], cursor: Cursor = None, limit: Limit = 50
    ) -> ProductPage:
        """Your supplier organisation's products, oldest first. Follow `next_cursor` for the next
        page; a cursor this API did not issue is refused with 422.
        """
        return await products.list_products(principal, cursor, limit)

    @get(
        "/{product_id:str}",
        guards=_SUPPLIER,
        operation_id="getProduct",
        summary="Read a product",
        responses=problems(400, 401, 403, 404),
    )
    async def read(
        self, product_id: FromPath[str], principal: NamedDependency[Principal]
    ) -> ProductOut:
        """One of your supplier organisation's products; another organisation's is 404, as if it did
        not exist.
        """
        return await products.get_product(principal, product_id)


def _with_etag(out: DossierOut) -> Response[DossierOut]:
    return Response(out, headers={"ETag": out.etag})


def _sent_header(name: str, description: str) -> ResponseHeader:
    """An OpenAPI declaration of a header the handler always sets (``value`` only types it)."""
    return ResponseHeader(
        name=name, value="", documentation_only=True, required=True, description=description
    )


# On every answer that carries a dossier: what a change must send as If-Match.
_ETAG = [_sent_header("ETag", "The dossier's current version: send it as If-Match to change it")]


@dataclass
class EvidenceForm:
    """The multipart form of an evidence upload (the descriptions are its OpenAPI documentation)."""

    file: Annotated[
        UploadFile,
        KwargDefinition(
            description=(
                "The file. Accepted when its bytes are PDF, PNG, JPEG, JSON, CSV or UTF-8 plain"
                " text, whatever its name or declared type (else 415), and within the size limit"
                " (else 413). Its name becomes the evidence's label; a name ending .csv (or a CSV"
                " content type) marks comma-separated text as CSV"
            )
        ),
    ]
    document_type: Annotated[
        str,
        KwargDefinition(
            description="What the document is, one of the registry's document types (else 422)",
            enum=sorted(DOCUMENT_TYPES),
        ),
    ]
    criteria: Annotated[
        str,
        KwargDefinition(
            description=(
                "The codes of the criteria this file is evidence for, in one field, separated by"
                " commas or spaces (or both), e.g. `C1.1, C1.2`: 1 to 50 codes, each of a"
                " criterion in the dossier's criteria set (else 404) that applies to the product"
                " (else 422)"
            )
        ),
    ]
    expires_on: Annotated[
        str | None,
        KwargDefinition(
            format="date",
            description=(
                "The day the document expires, as YYYY-MM-DD. Required (else 422) when a listed"
                " criterion's evidence requirement has `expiry_required` for this document type;"
                " an expired or soon-expiring file is a completeness gap"
            ),
        ),
    ] = None
    issued_on: Annotated[
        str | None,
        KwargDefinition(
            format="date",
            description=(
                "The day the document was issued, as YYYY-MM-DD. A criterion whose evidence has"
                " `max_age_days` counts only files issued within that many days"
            ),
        ),
    ] = None


_SAFE_FILENAME = re.compile(r"[^A-Za-z0-9._-]+")


class DossierController(Controller):
    """Dossiers of the caller's organisation, and everything inside them."""

    path = "/v1/dossiers"
    tags = ["dossiers"]
    dependencies = _PRINCIPAL
    security = SECURITY

    @post(
        guards=_SUPPLIER,
        operation_id="createDossier",
        summary="Start a dossier",
        response_headers=_ETAG,
        responses=problems(400, 401, 403, 404, 413, 422),
    )
    async def create(
        self, data: JSONBody[DossierCreate], principal: NamedDependency[Principal]
    ) -> Response[DossierOut]:
        """Start a dossier for a version of one of your products against a published criteria set
        (kitemark-core/1 unless you name another). Its first revision is an empty draft. A
        product that is not yours is 404; a criteria set not published is 422. The ETag header is
        what a later PATCH must send as If-Match.
        """
        out = await dossiers.create_dossier(principal, data)
        return Response(out, status_code=201, headers={"ETag": out.etag})

    @get(
        guards=_SUPPLIER,
        operation_id="listDossiers",
        summary="List your organisation's dossiers",
        responses=problems(400, 401, 403, 422),
    )
    async def list_own(
        self, principal: NamedDependency[Principal], cursor: Cursor = None, limit: Limit = 50
    ) -> DossierPage:
        """Your supplier organisation's dossiers, most recently changed first. Follow `next_cursor`
        for the next page; a cursor this API did not issue is refused with 422.
        """
        return await dossiers.list_dossiers(principal, cursor, limit)

    @get(
        "/{dossier_id:str}",
        guards=_READERS,
        operation_id="getDossier",
        summary="Read a dossier",
        response_headers=_ETAG,
        responses=problems(400, 401, 403, 404),
    )
    async def read(
        self, dossier_id: FromPath[str], principal: NamedDependency[Principal]
    ) -> Response[DossierOut]:
        """A dossier with its current revision's answers and evidence. Suppliers read their own
        organisation's; admins once it is submitted (never a current draft); reviewers while they
        hold a live claim on it or after reviewing it; lead reviewers while they may moderate it.
        Any other is 404, as if it did not exist. The ETag header is what PATCH must send as
        If-Match.
        """
        return _with_etag(await dossiers.get_dossier(principal, dossier_id))

    @patch(
        "/{dossier_id:str}",
        guards=_SUPPLIER,
        operation_id="updateDossier",
        summary="Change a draft dossier",
        response_headers=_ETAG,
        responses=problems(400, 401, 403, 404, 409, 412, 413, 428),
    )
    async def update(
        self,
        dossier_id: FromPath[str],
        data: JSONBody[DossierUpdate],
        principal: NamedDependency[Principal],
        if_match: Annotated[str | None, HeaderParameter(name="If-Match")] = None,
    ) -> Response[DossierOut]:
        """Change the product version or summary while the current revision is a draft (409 once
        submitted). Send the dossier's ETag as If-Match: without it the answer is 428, and with a
        stale one (someone changed the dossier meanwhile) 412.
        """
        return _with_etag(await dossiers.update_dossier(principal, dossier_id, data, if_match))

    @put(
        "/{dossier_id:str}/answers/{criterion_code:str}",
        guards=_SUPPLIER,
        operation_id="putAnswer",
        summary="Answer one criterion",
        responses={
            # The 200 carries the answer, never null: a cleared answer is the 204.
            200: ResponseSpec(
                data_container=AnswerOut, description="The answer as saved", generate_examples=False
            ),
            204: ResponseSpec(data_container=None, description="The answer was cleared"),
            **problems(400, 401, 403, 404, 409, 413, 422),
        },
    )
    async def answer(
        self,
        dossier_id: FromPath[str],
        criterion_code: Annotated[str, PathParameter(max_length=32)],
        data: JSONBody[AnswerPut],
        principal: NamedDependency[Principal],
    ) -> Response[AnswerOut | None]:
        """Store the answer to one criterion in the current draft, replacing any earlier one. The
        value's type must fit the criterion's response type (422 says what was expected);
        `{"value": null}` clears the answer and is answered with 204 and no body. A criterion not
        in the dossier's set is 404, one that does not apply to the product 422, and a dossier no
        longer a draft 409.
        """
        out = await dossiers.put_answer(principal, dossier_id, criterion_code, data)
        return Response(out, status_code=200 if out else 204)

    @get(
        "/{dossier_id:str}/completeness",
        guards=_READERS,
        operation_id="getCompleteness",
        summary="Check what a dossier still lacks",
        responses=problems(400, 401, 403, 404),
    )
    async def completeness(
        self, dossier_id: FromPath[str], principal: NamedDependency[Principal]
    ) -> CompletenessOut:
        """What stands between the current revision and submission: each applicable criterion
        unanswered, each required document missing, expired, expiring too soon or too old.
        Submission is refused until the list of gaps is empty.
        """
        return await dossiers.completeness(principal, dossier_id)

    @post(
        "/{dossier_id:str}/submit",
        guards=_SUPPLIER,
        status_code=200,
        operation_id="submitDossier",
        summary="Submit a dossier for review",
        responses=problems(400, 401, 403, 404, 409, 422),
    )
    async def submit(
        self, dossier_id: FromPath[str], principal: NamedDependency[Principal]
    ) -> RevisionOut:
        """Freeze the current draft revision (its canonical content and SHA-256) and put it on the
        review queue. An incomplete dossier is refused with 422, whose `completeness` member is
        the same report the completeness operation gives; a revision that is not a draft is 409.
        """
        return await dossiers.submit(principal, dossier_id)

    @post(
        "/{dossier_id:str}/withdraw",
        guards=_SUPPLIER,
        status_code=200,
        operation_id="withdrawDossier",
        summary="Withdraw a submission",
        response_headers=_ETAG,
        responses=problems(400, 401, 403, 404, 409),
    )
    async def withdraw(
        self, dossier_id: FromPath[str], principal: NamedDependency[Principal]
    ) -> Response[DossierOut]:
        """Take back a submitted revision no reviewer has claimed yet (409 once one has, or if it is
        not submitted). The dossier continues with a new draft revision, a copy of the withdrawn
        one.
        """
        return _with_etag(await dossiers.withdraw(principal, dossier_id))

    @get(
        "/{dossier_id:str}/revisions",
        guards=_READERS,
        operation_id="listRevisions",
        summary="List a dossier's revisions",
        responses=problems(400, 401, 403, 404),
    )
    async def revisions(
        self, dossier_id: FromPath[str], principal: NamedDependency[Principal]
    ) -> RevisionList:
        """Every revision of a dossier, oldest first, with its status, digest, decision, and what
        happens next (a certificate ID once one is issued).
        """
        return await dossiers.list_revisions(principal, dossier_id)

    @get(
        "/{dossier_id:str}/revisions/{number:int}/feedback",
        guards=[requires(Role.supplier_member, Role.admin)],
        operation_id="getRevisionFeedback",
        summary="Read a decided revision's feedback",
        responses=problems(400, 401, 403, 404, 409),
    )
    async def feedback(
        self,
        dossier_id: FromPath[str],
        number: Annotated[int, PathParameter(ge=1)],
        principal: NamedDependency[Principal],
    ) -> FeedbackOut:
        """A decided revision's outcome, section scores against thresholds, gate results, each
        reviewer's summary and comments (as "Reviewer 1", "Reviewer 2", "Moderator"), and what to
        change. 409 while the revision is not decided yet.
        """
        return await feedback.revision_feedback(principal, dossier_id, number)

    @get(
        "/{dossier_id:str}/revisions/{number:int}/diff",
        guards=_READERS,
        operation_id="getRevisionDiff",
        summary="Compare a revision with the one before",
        responses=problems(400, 401, 403, 404),
    )
    async def diff(
        self,
        dossier_id: FromPath[str],
        number: Annotated[int, PathParameter(ge=1)],
        principal: NamedDependency[Principal],
    ) -> RevisionDiff:
        """What changed in revision `number` since the previous revision: answers changed and
        evidence added or removed. Revision 1 has nothing to compare with (404).
        """
        return await dossiers.revision_diff(principal, dossier_id, number)

    @post(
        "/{dossier_id:str}/evidence",
        guards=_SUPPLIER,
        operation_id="uploadEvidence",
        summary="Upload an evidence file",
        responses=problems(400, 401, 403, 404, 409, 413, 415, 422),
        request_max_body_size=get_settings().evidence_max_file_bytes + 64 * 1024,
    )
    async def upload(
        self,
        dossier_id: FromPath[str],
        data: MultipartBody[EvidenceForm],
        principal: NamedDependency[Principal],
    ) -> EvidenceOut:
        """Attach a file to the current draft revision, as evidence for one or more criteria (a
        multipart form; its schema describes each field). The file is judged by its bytes: it is
        stored and later served as the type found (415 if none of PDF, PNG, JPEG, JSON, CSV or
        plain text), with its SHA-256. A file over the per-file limit, or one the dossier's total
        would exceed, is 413; a dossier no longer a draft 409.
        """
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
            field, words = describe_invalid(e)
            raise InvalidInput(f"evidence form: {words}", field=field) from e
        content = await data.file.read()
        return await evidence.upload(principal, dossier_id, meta, content)

    @get(
        "/{dossier_id:str}/evidence/{evidence_id:str}",
        guards=_READERS,
        operation_id="downloadEvidence",
        summary="Download an evidence file",
        response_headers=[
            _sent_header("ETag", "The file's SHA-256 in hex, quoted"),
            _sent_header("Repr-Digest", "sha-256=:<SHA-256 in base64>: (RFC 9530)"),
            _sent_header("X-Content-SHA256", "The file's SHA-256 in hex"),
            _sent_header("Content-Disposition", "attachment, with the upload's name made safe"),
        ],
        operation_class=binary_body(*ACCEPTED),
        responses=problems(400, 401, 403, 404),
    )
    async def download(
        self,
        dossier_id: FromPath[str],
        evidence_id: FromPath[str],
        principal: NamedDependency[Principal],
    ) -> Response[bytes]:
        """The exact bytes uploaded, served as the media type found at upload (one of those listed),
        as an attachment. The ETag, Repr-Digest and X-Content-SHA256 headers carry the SHA-256 of
        the bytes. Whoever may read the dossier may download its evidence, from any revision.
        """
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
        operation_id="deleteEvidence",
        summary="Delete an evidence file",
        responses=problems(400, 401, 403, 404, 409),
    )
    async def remove(
        self,
        dossier_id: FromPath[str],
        evidence_id: FromPath[str],
        principal: NamedDependency[Principal],
    ) -> None:
        """Remove a file from the current draft revision. Files of submitted revisions never change:
        deleting one is 409, as is any deletion once the current revision is no longer a draft.
        """
        await evidence.delete(principal, dossier_id, evidence_id)
