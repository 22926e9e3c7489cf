"""The committed OpenAPI document against the app, by schemathesis, in-process (issue #11 item 4).

For every operation, as anonymous and as each role, schemathesis generates requests that fit
the document (and, for bodies and parameters, requests that do not), the app answers on this
event loop through httpx, and every answer is checked: no server error, a status code and
content type the document lists for the operation, a body and headers its schema allows, and
invalid input refused. The number of examples per operation and role is bounded for the suite
(``REGISTRY_FUZZ_EXAMPLES``, default 8) and the same on every run; ``make fuzz`` runs with many
more, drawn afresh each time (``REGISTRY_FUZZ_EXPLORE=1``).
"""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.checks import (
    content_type_conformance,
    negative_data_rejection,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.generation import GenerationMode
from schemathesis.generation.case import Case

from tests.world import World

DOCUMENT = Path(__file__).resolve().parents[2] / "openapi" / "openapi.json"
EXAMPLES = int(os.environ.get("REGISTRY_FUZZ_EXAMPLES", "8"))
# The suite draws the same examples on every run, so CI is reproducible; `make fuzz` explores.
EXPLORE = os.environ.get("REGISTRY_FUZZ_EXPLORE") == "1"
ROLES = ["anonymous", "admin", "supplier_a", "reviewer", "lead"]
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    negative_data_rejection,
]

SCHEMA = schemathesis.openapi.from_path(DOCUMENT)
OPERATIONS = [result.ok() for result in SCHEMA.get_all_operations()]


def _cases(operation: Any, mode: GenerationMode) -> list[Case]:
    """Up to EXAMPLES generated cases for one operation (generation only: nothing can fail)."""
    drawn: list[Case] = []

    @settings(
        max_examples=EXAMPLES,
        database=None,
        derandomize=not EXPLORE,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
        deadline=None,
    )
    @given(operation.as_strategy(generation_mode=mode))
    def draw(case: Case) -> None:
        drawn.append(case)

    try:
        draw()
    except Unsatisfiable:  # nothing in this operation can be made invalid (no body, no params)
        return []
    return drawn


def _request_kwargs(case: Case, headers: dict[str, str]) -> dict[str, Any]:
    """The case as httpx keyword arguments (schemathesis serialises for requests)."""
    kwargs = case.as_transport_kwargs(base_url="http://registry.test", headers=headers)
    out: dict[str, Any] = {
        "method": kwargs["method"],
        "url": kwargs["url"],
        "headers": kwargs.get("headers") or {},
        "params": kwargs.get("params"),
    }
    if kwargs.get("cookies"):  # the document declares no cookies; say so if one appears
        raise AssertionError(f"unexpected cookies in a generated case: {kwargs['cookies']}")
    if "json" in kwargs:
        out["json"] = kwargs["json"]
    if kwargs.get("files"):
        # requests sends a non-text form value as str(value); httpx refuses it, so do the same.
        out["files"] = [
            (name, (filename, value if isinstance(value, (str, bytes)) else str(value), *rest))
            for name, (filename, value, *rest) in kwargs["files"]
        ]
        if isinstance(kwargs.get("data"), dict):
            out["data"] = kwargs["data"]
    elif "data" in kwargs and kwargs["data"] is not None:
        data = kwargs["data"]
        if isinstance(data, (bytes, str)):
            out["content"] = data
        else:
            out["data"] = data
    return out


@pytest.mark.slow
@pytest.mark.parametrize("operation", OPERATIONS, ids=lambda op: op.label)
async def test_every_answer_is_documented(
    client: httpx.AsyncClient, world: World, signing: None, operation: Any
) -> None:
    failures: Counter[str] = Counter()
    for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
        # Drawn once and sent as everyone: generating is the costly part (seconds per case for a
        # criteria document), and each role's answer to the same request is what differs.
        for case in _cases(operation, mode):
            for role in ROLES:
                person = world.by_name(role)
                headers = person.headers if person else {}
                response = await client.request(**_request_kwargs(case, headers))
                await response.request.aread()  # schemathesis reads the request it checks
                try:
                    case.validate_response(response, checks=CHECKS)
                except Exception as failure:  # schemathesis raises a group of named failures
                    summary = str(failure).strip().splitlines()
                    failures[f"{role} {mode.value} {response.status_code}: {summary[:3]}"] += 1
    assert not failures, "\n".join(f"{n}× {what}" for what, n in failures.most_common())
