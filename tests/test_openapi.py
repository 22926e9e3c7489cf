"""The committed OpenAPI document is what the app generates."""

from __future__ import annotations

from pathlib import Path

from registry.openapi import render_openapi

COMMITTED = Path(__file__).resolve().parents[1] / "openapi" / "openapi.json"


def test_committed_openapi_matches_app() -> None:
    assert COMMITTED.read_bytes() == render_openapi(), (
        "openapi/openapi.json is stale: run `make openapi` and commit it"
    )


def test_every_operation_declares_its_problem_responses() -> None:
    import msgspec

    document = msgspec.json.decode(render_openapi())
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            codes = {int(code) for code in operation["responses"]}
            takes_input = operation.get("parameters") or operation.get("requestBody")
            if takes_input:
                assert codes & {400, 401, 403, 404, 409, 422}, f"{method} {path} declares no 4xx"
            if operation.get("security"):
                assert 401 in codes, f"{method} {path} is protected but does not declare 401"
