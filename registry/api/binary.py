"""OpenAPI for answers that are raw bytes (PDFs, evidence files): ``format: binary`` content.

Litestar describes a ``bytes`` return as a plain string in one media type; client generators
then treat a PDF as text, or an evidence file as JSON. ``binary_body`` names the operation class
that documents the 200 as binary in every media type it is really served as.
"""

from __future__ import annotations

from dataclasses import dataclass

from litestar.openapi.spec import (
    OpenAPIFormat,
    OpenAPIMediaType,
    OpenAPIResponse,
    OpenAPIType,
    Operation,
    Schema,
)


def binary_body(*media_types: str) -> type[Operation]:
    """An operation class whose 200 is raw bytes, served as any one of ``media_types``."""

    @dataclass
    class BinaryBody(Operation):
        def __post_init__(self) -> None:
            found = (self.responses or {}).get("200")
            if isinstance(found, OpenAPIResponse):
                binary = Schema(type=OpenAPIType.STRING, format=OpenAPIFormat.BINARY)
                found.content = {kind: OpenAPIMediaType(schema=binary) for kind in media_types}

    return BinaryBody
