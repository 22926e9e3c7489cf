"""The one mapping from errors to HTTP: RFC 9457 problem documents for the API, and the status
the HTML pages (``registry.web``) answer with, from the same table.

Domain errors map by class; Litestar's own HTTP errors keep their status; anything else is a
500 whose body says nothing about the cause (the log has it). Denied requests are logged here.
"""

from __future__ import annotations

import logging
import re
from http import HTTPStatus
from typing import Any

from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.openapi.datastructures import ResponseSpec
from litestar.plugins.problem_details import ProblemDetailsException

from registry.errors import (
    Conflict,
    Forbidden,
    InvalidInput,
    NotFound,
    PayloadTooLarge,
    PreconditionFailed,
    PreconditionRequired,
    RegistryError,
    Unauthenticated,
    Unavailable,
    UnsupportedMediaType,
)
from schemas.base import Problem

security_log = logging.getLogger("registry.security")
error_log = logging.getLogger("registry.errors")

PROBLEM_MEDIA_TYPE = "application/problem+json"

_STATUS: dict[type[RegistryError], tuple[int, str]] = {
    Unauthenticated: (401, "unauthenticated"),
    Forbidden: (403, "forbidden"),
    NotFound: (404, "not-found"),
    Conflict: (409, "conflict"),
    PreconditionFailed: (412, "precondition-failed"),
    PayloadTooLarge: (413, "payload-too-large"),
    UnsupportedMediaType: (415, "unsupported-media-type"),
    InvalidInput: (422, "invalid-input"),
    PreconditionRequired: (428, "precondition-required"),
    Unavailable: (503, "unavailable"),
}
_DENIED = {401, 403, 404}


def status_of(exc: RegistryError) -> tuple[int, str] | None:
    """The HTTP status and problem slug of a domain error; None for one nobody mapped (our bug)."""
    for cls in type(exc).__mro__:
        if cls in _STATUS:
            return _STATUS[cls]
    return None


def passed_on_headers(status: int, headers: dict[str, str] | None) -> dict[str, str]:
    """The headers of a Litestar HTTP error a client should see, with Retry-After on a 429.

    Litestar's limiter sends RateLimit-* (seconds to reset); clients and proxies know
    Retry-After (RFC 9110 §10.2.3), so a 429 carries both.
    """
    passed = dict(headers or {})
    if status == 429:
        passed.setdefault("Retry-After", passed.get("RateLimit-Reset", "60"))
    return passed


def _problem_type(slug: str) -> str:
    return f"urn:kitemark:problem:{slug}"


def _respond(
    request: Request[Any, Any, Any],
    status: int,
    slug: str,
    detail: str,
    extra: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> Response[Any]:
    if status in _DENIED:
        security_log.warning(
            "denied %s %s -> %d (%s) from %s",
            request.method,
            request.url.path,
            status,
            detail,
            request.client.host if request.client else "?",
        )
    return ProblemDetailsException(
        status_code=status,
        type_=_problem_type(slug),
        title=HTTPStatus(status).phrase,
        detail=detail,
        extra=extra,
        headers=headers,
    ).to_response(request)


def registry_error_handler(request: Request[Any, Any, Any], exc: RegistryError) -> Response[Any]:
    """Map a domain error to its problem document."""
    mapped = status_of(exc)
    if mapped is None:  # a RegistryError subclass nobody mapped is our bug, not the client's
        return unexpected_error_handler(request, exc)
    status, slug = mapped
    extra = dict(exc.extra or {})
    if exc.field:
        extra["field"] = exc.field
    headers = {"WWW-Authenticate": 'Bearer realm="kitemark"'} if status == 401 else None
    return _respond(request, status, slug, exc.detail, extra or None, headers)


def http_error_handler(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    """Keep Litestar's status for its own errors, in problem+json form."""
    status = exc.status_code
    if status >= 500:
        return unexpected_error_handler(request, exc)
    if isinstance(exc, ValidationException):
        errors = _validation_errors(exc.extra)
        extra: dict[str, Any] = {"errors": errors}
        if errors and errors[0].get("field"):
            extra["field"] = errors[0]["field"]
        detail = "; ".join(
            f"{e['field']}: {e['message']}" if "field" in e else e["message"] for e in errors
        )
        return _respond(request, status, "invalid-request", detail or str(exc.detail), extra)
    slug = HTTPStatus(status).phrase.lower().replace(" ", "-")
    headers = passed_on_headers(status, exc.headers)
    return _respond(request, status, slug, str(exc.detail), None, headers or None)


_AT_PATH = re.compile(r"at `\$\.?([^`]*)`")
_NAMED_FIELD = re.compile(r"(?:unknown|required) field `([^`]+)`")


def _field_of(message: str, key: str | None) -> str | None:
    # msgspec names the location in its message ("… - at `$.name`", "unknown field `x`");
    # Litestar's own key for a body error is just "data", which helps nobody.
    path = match.group(1) if (match := _AT_PATH.search(message)) else ""
    if named := _NAMED_FIELD.search(message):
        return f"{path}.{named.group(1)}" if path else named.group(1)
    if path:
        return path
    return key if key and key != "data" else None


def _validation_errors(extra: Any) -> list[dict[str, str]]:
    errors = []
    for item in extra if isinstance(extra, list) else []:
        if isinstance(item, dict):
            message = str(item.get("message", "invalid value"))
            entry = {"message": message}
            if field := _field_of(message, item.get("key")):
                entry["field"] = field
            if item.get("source"):
                entry["source"] = str(item["source"])
            errors.append(entry)
    return errors


def undecodable_body_handler(
    request: Request[Any, Any, Any], exc: UnicodeDecodeError
) -> Response[Any]:
    """A body that is not UTF-8 cannot be JSON (RFC 8259 §8.1): a client error, not ours."""
    return _respond(request, 400, "invalid-request", "the request body is not UTF-8 encoded JSON")


def unexpected_error_handler(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    """A 500 that says nothing of the cause; the traceback goes to the log only."""
    error_log.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return ProblemDetailsException(
        status_code=500,
        type_=_problem_type("internal-error"),
        title=HTTPStatus.INTERNAL_SERVER_ERROR.phrase,
        detail="the registry could not complete this request; it has been logged",
    ).to_response(request)


EXCEPTION_HANDLERS: dict[type[Exception] | int, Any] = {
    RegistryError: registry_error_handler,
    HTTPException: http_error_handler,
    UnicodeDecodeError: undecodable_body_handler,
    Exception: unexpected_error_handler,
}

_DESCRIPTIONS = {
    400: "The request is malformed or fails schema validation",
    401: "No valid API token",
    403: "The token's role may not do this",
    404: "No such object, or not one the caller may see",
    409: "Conflicts with the current state",
    412: "If-Match names a stale version",
    413: "The body is larger than allowed",
    415: "The media type is not accepted",
    422: "Well-formed input that breaks a registry rule",
    428: "If-Match is required",
    429: "Too many requests from this client",
    503: "The registry cannot serve this yet (for example, no signing keys)",
}


def problems(*statuses: int) -> dict[int, ResponseSpec]:
    """OpenAPI declarations of the problem responses an operation can give."""
    return {
        status: ResponseSpec(
            data_container=Problem,
            description=_DESCRIPTIONS[status],
            media_type=PROBLEM_MEDIA_TYPE,
            generate_examples=False,
        )
        for status in statuses
    }
