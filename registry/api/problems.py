"""The one mapping from errors to HTTP: RFC 9457 problem documents for the API, and the status
the HTML pages (``registry.web``) answer with, from the same table.

Domain errors map by class; Litestar's own HTTP errors keep their status; anything else is a
500 whose body says nothing about the cause (the log has it). Denied requests are logged here.
A validation error lists each bad value with its ``field``, its ``source`` (``body``, ``query``,
``path`` or ``header``) and a message that never quotes a regex: ``PATTERN_WORDS`` says in words
what each pattern asks for.
"""

from __future__ import annotations

import logging
import re
from enum import Enum
from http import HTTPStatus
from typing import Any

import msgspec
from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.openapi.datastructures import ResponseSpec
from litestar.plugins.problem_details import ProblemDetailsException

from registry.domain.criteria_document import (
    CRITERIA_SET_KEY_PATTERN,
    CRITERION_CODE_PATTERN,
    SECTION_CODE_PATTERN,
    Sha256Hex,
    Title,
)
from registry.errors import (
    Conflict,
    Forbidden,
    InvalidInput,
    NotFound,
    PayloadTooLarge,
    PreconditionFailed,
    PreconditionRequired,
    RegistryError,
    TooManyAttempts,
    Unauthenticated,
    Unavailable,
    UnsupportedMediaType,
)
from schemas.base import MULTI_LINE, MULTI_LINE_NOT_BLANK, ONE_LINE, Problem
from schemas.directory import CRITERIA_SET_REF_PATTERN, SEARCH_TEXT_PATTERN
from schemas.dossier import IsoDate, Version
from schemas.identity import Email

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
    TooManyAttempts: (429, "too-many-requests"),
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


def _pattern_of(constrained: Any) -> str:
    info = msgspec.inspect.type_info(constrained)
    if isinstance(info, msgspec.inspect.Metadata):  # a description or examples beside the pattern
        info = info.type
    if not isinstance(info, msgspec.inspect.StrType) or info.pattern is None:
        raise TypeError(f"expected a string type with a pattern, got {info}")
    return info.pattern


# What each pattern a client can be refused by asks for, in words: msgspec's message quotes the
# regex, which tells a person typing a name nothing. The table lives here, not beside the
# patterns, because they are declared in five modules (schemas.base, .dossier, .identity,
# .directory, registry.domain.criteria_document) that cannot all import one another, and the
# wording of a refusal is this module's business. Patterns declared inline are read back from
# their types, so a changed pattern cannot leave stale words behind; tests/api/test_errors.py
# checks that every pattern of a request body, form or query parameter has its words here.
PATTERN_WORDS: dict[str, str] = {
    ONE_LINE: "must not be blank, on one line, without control characters",
    MULTI_LINE: "must not hold control characters other than tabs and line breaks",
    MULTI_LINE_NOT_BLANK: (
        "must not be blank, without control characters other than tabs and line breaks"
    ),
    SEARCH_TEXT_PATTERN: "must be on one line, without control characters",
    _pattern_of(Title): "must not be blank",
    _pattern_of(IsoDate): "must be a date as YYYY-MM-DD",
    _pattern_of(Version): (
        "must be letters, digits, dots, plus signs, hyphens or underscores, without spaces"
    ),
    _pattern_of(Email): (
        "must be an email address: one @ with text on either side,"
        " without spaces or control characters"
    ),
    _pattern_of(Sha256Hex): "must be a SHA-256 digest as 64 lowercase hexadecimal digits",
    CRITERIA_SET_KEY_PATTERN: (
        "must be 2 to 63 lowercase letters, digits and hyphens, not starting with a hyphen"
        " (as in kitemark-core)"
    ),
    CRITERIA_SET_REF_PATTERN: "must name a criteria set as key/version (as in kitemark-core/1)",
    SECTION_CODE_PATTERN: (
        "must be a section code: a capital letter, perhaps followed by numbers joined by dots"
        " (as in C or C1)"
    ),
    CRITERION_CODE_PATTERN: (
        "must be a criterion code: a capital letter and numbers joined by dots (as in C1.2)"
    ),
}
_UNWORDED_PATTERN = "is not in the form this field takes"
# msgspec quotes the pattern with repr(), in single quotes unless the pattern holds one.
_REGEX_MESSAGE = re.compile(
    r"Expected `str` matching regex ('(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\")"
)
_WORDS_BY_QUOTED = {repr(pattern): words for pattern, words in PATTERN_WORDS.items()}
_AT_PATH = re.compile(r"at `\$\.?([^`]*)`")
_WHERE = re.compile(r" - at `\$[^`]*`$")
_NAMED_FIELD = re.compile(r"(?:unknown|required) field `([^`]+)`")
# Where Litestar found the bad value; it gives a ParamType for a parameter, a str for the body.
_SOURCES = frozenset({"body", "query", "path", "header"})


def _in_words(message: str) -> str:
    # The location goes to "field"; a pattern becomes what it asks for.
    message = _WHERE.sub("", message)
    return _REGEX_MESSAGE.sub(
        lambda quoted: _WORDS_BY_QUOTED.get(quoted.group(1), _UNWORDED_PATTERN), message
    )


def _field_of(message: str, key: str | None) -> str | None:
    # msgspec names the location in its message ("… - at `$.name`", "unknown field `x`");
    # Litestar's own key for a body error is just "data", which helps nobody.
    path = match.group(1) if (match := _AT_PATH.search(message)) else ""
    if named := _NAMED_FIELD.search(message):
        return f"{path}.{named.group(1)}" if path else named.group(1)
    if path:
        return path
    return key if key and key != "data" else None


def _source_of(source: Any) -> str | None:
    value = source.value if isinstance(source, Enum) else source
    return value if value in _SOURCES else None


def describe_invalid(error: msgspec.ValidationError) -> tuple[str | None, str]:
    """The field a msgspec validation error names, and the error in words ("field: …")."""
    message = str(error)
    field = _field_of(message, None)
    words = _in_words(message)
    return field, f"{field}: {words}" if field else words


def _validation_errors(extra: Any) -> list[dict[str, str]]:
    errors = []
    for item in extra if isinstance(extra, list) else []:
        if isinstance(item, dict):
            message = str(item.get("message", "invalid value"))
            entry = {"message": _in_words(message)}
            if field := _field_of(message, item.get("key")):
                entry["field"] = field
            if source := _source_of(item.get("source")):
                entry["source"] = source
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
    429: "Too many requests from this client (Retry-After says when to try again)",
    500: "The registry failed; the cause is logged, never sent",
    503: "The registry cannot serve this yet (for example, no signing keys)",
}


def problems(*statuses: int) -> dict[int, ResponseSpec]:
    """OpenAPI declarations of the problem responses an operation can give, 500 always included.

    List 400 for any operation with parameters or a body: Litestar otherwise documents its own
    ``application/json`` 400, which this server never sends.
    """
    return {
        status: ResponseSpec(
            data_container=Problem,
            description=_DESCRIPTIONS[status],
            media_type=PROBLEM_MEDIA_TYPE,
            generate_examples=False,
        )
        for status in sorted({*statuses, 500})
    }
