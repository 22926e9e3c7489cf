"""The Idempotency-Key header on the API's changing operations: a retry replays, never repeats.

draft-ietf-httpapi-idempotency-key-header. A POST or PATCH under ``/v1/`` (but not the
read-only ``/v1/verify/…`` lookups) that carries ``Idempotency-Key`` is run once per caller
and key:
- the first request runs, and its response (status, body, Content-Type, Location, ETag…) is
  recorded before its last byte is sent, so a client that lost the answer can ask again;
- a retry with the same key and the same request gets that response again, marked
  ``Idempotent-Replayed: true``; the same key with another request is 422, a retry while the
  first still runs is 409, a malformed key 400 — problem documents from the one mapping in
  ``registry.api.problems`` (this middleware runs inside Litestar's exception handling, so it
  raises domain errors like a handler does);
- a 5xx (or 429) is not recorded: the key is released, and a retry runs the request again.
The rules themselves are in ``registry.domain.idempotency``, the storage in
``registry.services.idempotency``. Keys are scoped to the ``Authorization`` credential, which is
checked first: without a live one the answer is 401, never a replay.

``document_idempotency`` adds the header, and the 400/409/422 it can cause, to the OpenAPI
operations this middleware covers.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from litestar import Litestar
from litestar.datastructures import Headers
from litestar.enums import ScopeType
from litestar.exceptions import ClientException
from litestar.handlers import HTTPRouteHandler
from litestar.middleware import ASGIMiddleware
from litestar.openapi.spec import (
    OpenAPIMediaType,
    OpenAPIResponse,
    OpenAPIType,
    Operation,
    Parameter,
    Reference,
    Schema,
)
from litestar.routes import HTTPRoute
from litestar.types import ASGIApp, Message, Receive, ReceiveMessage, Scope, Send

from registry.api.problems import PROBLEM_MEDIA_TYPE
from registry.domain import idempotency as rules
from registry.services import idempotency, identity
from registry.settings import MIB, get_settings

log = logging.getLogger("registry.idempotency")

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
COVERED_METHODS = frozenset({"POST", "PATCH"})
# POSTs that only look things up (a PDF or statement to verify): nothing to repeat or replay.
READ_ONLY_PREFIXES = ("/v1/verify",)
# The API's changing responses are small documents; anything bigger is not kept (the key is
# released) rather than held in memory and in the database.
MAX_RECORDED_BYTES = 4 * MIB


def covers(method: str, path: str) -> bool:
    """True for the operations that honour Idempotency-Key."""
    return (
        method.upper() in COVERED_METHODS
        and path.startswith("/v1/")
        and not any(path == p or path.startswith(p + "/") for p in READ_ONLY_PREFIXES)
    )


class IdempotencyMiddleware(ASGIMiddleware):
    """Run a keyed request once per caller and key; replay its response to retries."""

    scopes = (ScopeType.HTTP,)

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        """Pass unkeyed requests through; begin, replay or refuse keyed ones."""
        headers = Headers.from_scope(scope)
        raw_key = headers.get(HEADER)
        credential = headers.get("authorization", "")
        method = str(scope.get("method", "GET"))
        if raw_key is None or not covers(method, scope["path"]):
            await next_app(scope, receive, send)
            return
        # Only a live credential gets a replay: a revoked token must not read, say, the secret
        # of a token it created before it was revoked.
        # Kept in the request's state: the route's guard then reuses it instead of looking the
        # token up a second time.
        scope.setdefault("state", {})["principal"] = await identity.authenticate(credential)
        if problem := rules.key_problem(raw_key):
            raise ClientException(detail=problem)
        request = _BufferedRequest(receive)
        body = await request.read(_body_limit(scope, headers))
        if body is None:  # too large for the route (the handler answers 413) or abandoned
            await next_app(scope, request.receive, send)
            return
        query = scope.get("query_string", b"").decode("latin-1")
        fingerprint = rules.request_fingerprint(
            method,
            scope["path"] + (f"?{query}" if query else ""),
            headers.get("content-type", ""),
            headers.get("if-match", ""),
            body,
        )
        outcome = await idempotency.begin(credential, rules.parse_key(raw_key), fingerprint)
        if isinstance(outcome, idempotency.Recorded):
            await _replay(outcome, send)
            return
        recorder = _Recorder(send, outcome)
        try:
            await next_app(scope, request.receive, recorder.send)
        finally:
            if not recorder.settled:  # the app failed before it finished a response
                await _release_quietly(outcome)


def _body_limit(scope: Scope, headers: Headers) -> int | None:
    """The route's body limit, or None when the declared length is already over it."""
    handler = scope.get("route_handler")
    route_limit = (
        handler.resolve_request_max_body_size() if isinstance(handler, HTTPRouteHandler) else None
    )
    limit = route_limit or get_settings().max_body_bytes
    declared = headers.get("content-length", "")
    return None if declared.isdigit() and int(declared) > limit else limit


class _BufferedRequest:
    """Reads the whole body ahead of the app, then hands the app the same messages."""

    def __init__(self, receive: Receive) -> None:
        self._receive = receive
        self._messages: list[ReceiveMessage] = []

    async def read(self, limit: int | None) -> bytes | None:
        """The body, or None when it is over ``limit`` or the client went away."""
        if limit is None:
            return None
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await self._receive()
            self._messages.append(message)
            if message["type"] != "http.request":
                return None
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                return None
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks)

    async def receive(self) -> ReceiveMessage:
        """The buffered messages first, then whatever the client sends next."""
        if self._messages:
            return self._messages.pop(0)
        return await self._receive()


class _Recorder:
    """Passes the response on, and records it before its last chunk leaves."""

    def __init__(self, send: Send, begun: idempotency.Begun) -> None:
        self._send = send
        self._begun = begun
        self._status: int | None = None
        self._headers: list[tuple[str, str]] = []
        self._chunks: list[bytes] = []
        self._size = 0
        self.settled = False

    async def send(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self._status = message["status"]
            self._headers = [
                (name.decode("latin-1"), value.decode("latin-1"))
                for name, value in message.get("headers", [])
            ]
        elif message["type"] == "http.response.body":
            chunk = message.get("body", b"")
            self._size += len(chunk)
            if self._size <= MAX_RECORDED_BYTES:
                self._chunks.append(chunk)
            if not message.get("more_body", False):
                await self._settle()
        await self._send(message)

    async def _settle(self) -> None:
        self.settled = True
        if self._status is None or self._size > MAX_RECORDED_BYTES:
            await _release_quietly(self._begun)
            return
        try:
            await idempotency.finish(
                self._begun, self._status, self._headers, b"".join(self._chunks)
            )
        except Exception:  # the client still gets its response; a retry runs the request again
            log.exception("could not record the response of an idempotent request")
            await _release_quietly(self._begun)


async def _release_quietly(begun: idempotency.Begun) -> None:
    try:
        await idempotency.release(begun)
    except Exception:  # the key frees itself once it counts as abandoned
        log.exception("could not release an idempotency key")


async def _replay(recorded: idempotency.Recorded, send: Send) -> None:
    headers = [
        (name.encode("latin-1"), value.encode("latin-1")) for name, value in recorded.headers
    ]
    headers.append((b"content-length", str(len(recorded.body)).encode()))
    headers.append((REPLAYED_HEADER.lower().encode(), b"true"))
    await send({"type": "http.response.start", "status": recorded.status, "headers": headers})
    await send({"type": "http.response.body", "body": recorded.body, "more_body": False})


# --- OpenAPI ---------------------------------------------------------------------------------

KEY_PARAMETER = Parameter(
    name=HEADER,
    param_in="header",
    required=False,
    schema=Schema(type=OpenAPIType.STRING, min_length=1, max_length=rules.MAX_KEY_LENGTH),
    description=(
        "Makes a retry safe: the first request with this key runs, and a repeat of it within"
        " 24 hours gets the same response again (marked `Idempotent-Replayed: true`) instead of"
        " running twice. Keys belong to the caller's credential; use a fresh one (a UUID) for"
        " every new request. Another request with a used key is 422; a repeat while the first"
        " still runs is 409; a 5xx is not kept, so a retry after one runs again."
    ),
)
_KEY_RESPONSES = {
    "400": "The Idempotency-Key header is malformed (1-255 printable ASCII characters)",
    "409": "A request with this Idempotency-Key is still running",
    "422": "This Idempotency-Key was used for a different request",
}


@dataclass
class IdempotentOperation(Operation):
    """An OpenAPI operation that takes the Idempotency-Key header."""

    def __post_init__(self) -> None:
        self.parameters = [*(self.parameters or []), KEY_PARAMETER]
        responses = self.responses if self.responses is not None else {}
        for status, description in _KEY_RESPONSES.items():
            responses.setdefault(
                status,
                OpenAPIResponse(
                    description=description,
                    content={
                        PROBLEM_MEDIA_TYPE: OpenAPIMediaType(
                            schema=Reference(ref="#/components/schemas/Problem")
                        )
                    },
                ),
            )
        self.responses = responses


def document_idempotency(app: Litestar) -> None:
    """Declare the header on every operation the middleware covers (before the schema is built)."""
    for route in app.routes:
        if not isinstance(route, HTTPRoute):
            continue
        for method, (handler, _) in route.route_handler_map.items():
            if covers(method, route.path) and handler.operation_class is Operation:
                handler.operation_class = IdempotentOperation
