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


# The signed trust bundle and the JWK Set keep integer seconds (RFC 7519 NumericDate): the
# bundle's payload is signed canonical JSON, and ``nbf``/``exp`` are JOSE's own members.
NUMERIC_DATE_SCHEMAS = {"TrustDocument", "TrustKey", "Jwk"}


def test_every_response_time_is_an_rfc3339_string() -> None:
    import re

    import msgspec

    document = msgspec.json.decode(render_openapi())
    times = 0
    for name, schema in document["components"]["schemas"].items():
        if name in NUMERIC_DATE_SCHEMAS:
            continue
        for field, spec in (schema.get("properties") or {}).items():
            if not re.fullmatch(r"at|\w+_at|\w+_until", field):
                continue
            shapes = [s for s in spec.get("oneOf", [spec]) if s.get("type") != "null"]
            typed = [(s.get("type"), s.get("format")) for s in shapes]
            assert typed == [("string", "date-time")], f"{name}.{field}: {spec}"
            times += 1
    assert times >= 40, f"found only {times} time fields: did the pattern stop matching?"
