"""The OpenAPI document as committed bytes: pretty, sorted, ending in a newline."""

from __future__ import annotations

import msgspec

from registry.app import create_app


def render_openapi() -> bytes:
    """The app's OpenAPI document, formatted deterministically for committing and diffing."""
    schema = create_app().openapi_schema.to_schema()
    return msgspec.json.format(msgspec.json.encode(schema, order="sorted"), indent=2) + b"\n"
