"""The OpenAPI document is a contract a generated client can trust (issue #11).

Checked on the document the app generates now, not the committed file: every operation is named
and described; every error is the problem document the server really sends; the 204s, the
evidence download's media types and the evidence form are as served. A few live calls check
that the server does what the document says.
"""

from __future__ import annotations

import functools
import re
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import msgspec
import pytest

from registry.api.client_address import PUBLIC_PREFIXES
from registry.api.problems import PROBLEM_MEDIA_TYPE
from registry.domain.criteria import applicable_criteria
from registry.domain.sniff import ACCEPTED
from registry.services.audit import SYSTEM
from registry.services.criteria import builtin_document, publish
from schemas.criteria import ProductProfile
from tests.supplier_flow import TIER_C_DEVICE, builtin, new_dossier, tiny_pdf, upload
from tests.world import World

Operation = dict[str, Any]
METHODS = {"get", "put", "post", "delete", "patch", "head", "options"}
PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}
# The one error response that is not a problem document: /health answers 503 with its own
# Health body, so a monitor reads the same shape whether the database answers or not.
NOT_PROBLEMS = {("get", "/health", "503")}


@functools.cache
def _document() -> dict[str, Any]:
    from registry.app import create_app

    schema: dict[str, Any] = create_app().openapi_schema.to_schema()
    return schema


def _operations() -> Iterator[tuple[str, str, Operation]]:
    for path, item in _document()["paths"].items():
        for method, operation in item.items():
            if method in METHODS:
                yield method, path, operation


def _operation(operation_id: str) -> Operation:
    found = [op for _, _, op in _operations() if op.get("operationId") == operation_id]
    assert len(found) == 1, f"expected one operation {operation_id}, found {len(found)}"
    return found[0]


def _is_public(path: str) -> bool:
    return any(path == p or path.startswith(p + "/") for p in PUBLIC_PREFIXES)


def _schemas(node: object) -> Iterator[dict[str, Any]]:
    """Every object anywhere in the document."""
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _schemas(value)
    elif isinstance(node, list):
        for value in node:
            yield from _schemas(value)


# --- names and descriptions ------------------------------------------------------------------


def test_every_operation_has_a_summary_a_description_and_a_human_operation_id() -> None:
    wrong = []
    for method, path, op in _operations():
        where = f"{method.upper()} {path}"
        summary = op.get("summary") or ""
        # Sentence case, several words, no final period: never Litestar's "ListAll".
        if not re.fullmatch(r"[A-Z][^\n]*[^.\s]", summary) or " " not in summary:
            wrong.append(f"{where}: summary {summary!r}")
        if not (op.get("description") or "").strip():
            wrong.append(f"{where}: no description")
        if not re.fullmatch(r"[a-z][A-Za-z]+", op.get("operationId") or ""):
            wrong.append(f"{where}: operationId {op.get('operationId')!r}")
    assert not wrong, "\n".join(wrong)


def test_operation_ids_are_unique() -> None:
    counts = Counter(str(op.get("operationId")) for _, _, op in _operations())
    assert not [name for name, n in counts.items() if n > 1]


# --- errors ----------------------------------------------------------------------------------


def test_every_error_response_is_a_problem_document() -> None:
    wrong = []
    for method, path, op in _operations():
        for code, response in op["responses"].items():
            if int(code) < 400 or (method, path, code) in NOT_PROBLEMS:
                continue
            content = response.get("content") or {}
            if list(content) != [PROBLEM_MEDIA_TYPE]:
                wrong.append(f"{method.upper()} {path} {code}: {sorted(content)}")
            elif content[PROBLEM_MEDIA_TYPE].get("schema") != PROBLEM_REF:
                wrong.append(f"{method.upper()} {path} {code}: not the Problem schema")
    assert not wrong, "\n".join(wrong)


def test_no_response_has_litestars_default_error_body() -> None:
    default = {"status_code", "detail", "extra"}
    found = [s for s in _schemas(_document()["paths"]) if set(s.get("properties", {})) == default]
    assert not found, f"{len(found)} response(s) still document Litestar's own error body"


@dataclass(frozen=True)
class ErrorRule:
    """Operations of some kind can always give ``status``, whatever their service does."""

    why: str
    applies: Callable[[str, Operation], bool]
    status: str


ERROR_RULES = [
    ErrorRule("any operation can fail unexpectedly", lambda path, op: True, "500"),
    ErrorRule(
        "parameters or a body can be malformed",
        lambda path, op: bool(op.get("parameters") or op.get("requestBody")),
        "400",
    ),
    # The app-wide request_max_body_size refuses any larger body before the handler runs.
    ErrorRule("a body can be over the size limit", lambda path, op: "requestBody" in op, "413"),
    ErrorRule("a token can be missing or bad", lambda path, op: bool(op.get("security")), "401"),
    ErrorRule("public paths are rate limited", lambda path, op: _is_public(path), "429"),
]


@pytest.mark.parametrize("rule", ERROR_RULES, ids=lambda rule: rule.why)
def test_operations_declare_the_errors_every_such_operation_can_give(rule: ErrorRule) -> None:
    missing = [
        f"{method.upper()} {path}"
        for method, path, op in _operations()
        if rule.applies(path, op) and rule.status not in op["responses"]
    ]
    assert not missing, f"{rule.why}, but these do not declare {rule.status}: {missing}"


def test_only_public_paths_declare_429() -> None:
    declared = [
        f"{method.upper()} {path}"
        for method, path, op in _operations()
        if "429" in op["responses"] and not _is_public(path)
    ]
    assert not declared, f"not rate limited, yet declaring 429: {declared}"


# --- what the dossier and review operations answer ------------------------------------------


@pytest.mark.parametrize("operation_id", ["claimNextReview", "putAnswer"])
def test_the_empty_answers_are_documented_as_204_without_a_body(operation_id: str) -> None:
    responses = _operation(operation_id)["responses"]
    assert "200" in responses
    assert "204" in responses
    assert not responses["204"].get("content")


@pytest.mark.parametrize("operation_id", ["claimNextReview", "putAnswer"])
def test_a_200_always_carries_its_document_never_null(operation_id: str) -> None:
    # "Nothing" is the 204; a nullable 200 makes generated clients return Any | None.
    schema = _operation(operation_id)["responses"]["200"]["content"]["application/json"]["schema"]
    assert set(schema) == {"$ref"}, schema


@pytest.mark.parametrize(
    ("operation_id", "media_types"),
    [
        ("getCertificatePdf", {"application/pdf"}),
        ("getAssessmentReport", {"application/pdf"}),
        ("downloadEvidence", set(ACCEPTED)),
    ],
)
def test_bytes_are_documented_as_binary(operation_id: str, media_types: set[str]) -> None:
    # Without format: binary a generated client reads a PDF as text, or an evidence file as JSON.
    content = _operation(operation_id)["responses"]["200"]["content"]
    assert set(content) == media_types
    assert all(c["schema"] == {"type": "string", "format": "binary"} for c in content.values())


def test_component_titles_are_unique() -> None:
    # Generators name classes by title: two schemas titled alike lose one of them.
    titles = Counter(
        schema.get("title", name) for name, schema in _document()["components"]["schemas"].items()
    )
    assert [title for title, n in titles.items() if n > 1] == []


def test_dates_say_they_are_dates() -> None:
    schemas = _document()["components"]["schemas"]
    for name, field in [("EvidenceOut", "expires_on"), ("EvidenceOut", "issued_on")]:
        options = schemas[name]["properties"][field]["oneOf"]
        assert {"type": "string", "format": "date"} in options, (name, field, options)


def test_evidence_download_lists_every_sniffed_media_type() -> None:
    content = _operation("downloadEvidence")["responses"]["200"]["content"]
    assert set(content) == set(ACCEPTED)
    assert "application/octet-stream" not in content


def test_evidence_form_fields_are_described() -> None:
    body = _operation("uploadEvidence")["requestBody"]["content"]["multipart/form-data"]
    name = body["schema"]["$ref"].rsplit("/", 1)[-1]
    fields = _document()["components"]["schemas"][name]["properties"]
    assert set(fields) == {"file", "document_type", "criteria", "expires_on", "issued_on"}
    undescribed = [field for field, schema in fields.items() if not schema.get("description")]
    assert not undescribed
    criteria = fields["criteria"]["description"]
    assert "comma" in criteria
    assert "space" in criteria
    assert "YYYY-MM-DD" in fields["expires_on"]["description"]
    assert "YYYY-MM-DD" in fields["issued_on"]["description"]
    assert "other" in fields["document_type"]["enum"]


# --- the server does what the document says --------------------------------------------------


@pytest.fixture
async def published(world: World) -> None:
    await publish(SYSTEM, builtin_document())


async def test_claiming_from_an_empty_queue_answers_204_without_a_body(
    client: httpx.AsyncClient, world: World
) -> None:
    response = await client.post("/v1/queue/claim", headers=world.reviewer.headers)
    assert response.status_code == 204
    assert response.content == b""


@pytest.mark.usefixtures("published")
async def test_clearing_an_answer_answers_204_without_a_body(
    client: httpx.AsyncClient, world: World
) -> None:
    h = world.supplier_a.headers
    dossier = await new_dossier(client, h, TIER_C_DEVICE)
    code = _a_criterion(await builtin(client))
    url = f"/v1/dossiers/{dossier['id']}/answers/{code}"
    assert (await client.put(url, json={"value": True}, headers=h)).status_code == 200
    cleared = await client.put(url, json={"value": None}, headers=h)
    assert cleared.status_code == 204
    assert cleared.content == b""


def _a_criterion(document: Any) -> str:
    """A yes/no criterion that applies to a tier C device (answerable with true)."""
    profile = msgspec.convert(TIER_C_DEVICE, ProductProfile)
    return next(
        c.code for c in applicable_criteria(document, profile) if c.response_type == "yes_no"
    )


@pytest.mark.usefixtures("published")
@pytest.mark.parametrize(
    ("filename", "content"),
    [
        ("scan.pdf", tiny_pdf("download")),
        ("photo.png", b"\x89PNG\r\n\x1a\n" + b"\x00" * 16),
        ("photo.jpg", b"\xff\xd8\xff\xe0" + b"\x00" * 16),
        ("results.csv", b"name,value\na,1\n"),
        ("data.json", b'{"a": 1}'),
        ("notes.txt", b"plain words\n"),
    ],
)
async def test_evidence_is_downloaded_as_a_documented_media_type(
    client: httpx.AsyncClient, world: World, filename: str, content: bytes
) -> None:
    h = world.supplier_a.headers
    dossier = await new_dossier(client, h, TIER_C_DEVICE)
    code = _a_criterion(await builtin(client))
    uploaded = await upload(client, h, dossier["id"], "other", [code], content, filename)
    assert uploaded.status_code == 201, uploaded.text
    evidence = uploaded.json()
    response = await client.get(
        f"/v1/dossiers/{dossier['id']}/evidence/{evidence['id']}", headers=h
    )
    assert response.status_code == 200
    served = response.headers["content-type"].split(";")[0]
    assert served == evidence["media_type"]
    assert served in _operation("downloadEvidence")["responses"]["200"]["content"]
    assert response.content == content


async def test_an_error_is_served_as_the_problem_document_it_is_documented_as(
    client: httpx.AsyncClient, world: World
) -> None:
    response = await client.get("/v1/products?limit=0", headers=world.supplier_a.headers)
    assert response.status_code == 400
    assert response.headers["content-type"].split(";")[0] == PROBLEM_MEDIA_TYPE
    assert {"type", "title", "status", "detail"} <= set(response.json())
