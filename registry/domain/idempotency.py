"""Idempotency keys (draft-ietf-httpapi-idempotency-key-header): the rules, over plain values.

Rules enforced here:
- a key is 1 to ``MAX_KEY_LENGTH`` printable ASCII characters; the quotes of a Structured Field
  string (``"abc"``, the draft's form) are dropped, a bare value is taken as it is;
- a key belongs to one caller: it is looked up by a digest of the caller's credential and the
  key, so two callers' keys never meet, and no credential is stored;
- a request is known by its fingerprint: method, path and query, media type, ``If-Match`` and
  body. A multipart body's boundary is left out, since clients draw a new one for every attempt;
- the same key with another fingerprint is refused (InvalidInput, 422); while the first request
  runs, a retry is refused (Conflict, 409); once it has finished, its response is replayed;
- a key is kept ``KEEP_SECONDS`` (24 hours) from its first request; after that it is free again
  and its row is purged;
- a request still running after ``RUNNING_SECONDS`` is taken as abandoned (its process died
  mid-request), so its key is free again rather than refused for a day;
- a response is kept when its status is below 500, except 429 (the request was not processed);
  a 5xx is not kept, so a retry runs the request again.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from enum import StrEnum

from registry.domain.canonical import canonical_digest
from registry.errors import Conflict, InvalidInput

MAX_KEY_LENGTH = 255
KEEP_SECONDS = 24 * 3600
# Far longer than any request the registry serves (uploads and issuance take seconds).
RUNNING_SECONDS = 10 * 60
# Headers that describe one transmission, not the outcome: a replay makes its own (or none).
_NOT_REPLAYED = frozenset(
    {
        "date",
        "server",
        "content-length",
        "connection",
        "keep-alive",
        "transfer-encoding",
        "set-cookie",
    }
)
_NOT_REPLAYED_PREFIXES = ("ratelimit-",)


class Verdict(StrEnum):
    """What to do with a request that carries a key."""

    run = "run"  # the key is new, expired or abandoned: run the request and record its outcome
    replay = "replay"  # the key's first request finished: send its response again


@dataclass(frozen=True, slots=True)
class KeyState:
    """What is stored about a key: whose request it was, when it began, and whether it finished."""

    fingerprint: str
    created_at: int
    status: int | None  # None while the first request runs


def key_problem(raw: str) -> str | None:
    """Why ``raw`` is not a usable Idempotency-Key value, or None when it is."""
    key = parse_key(raw)
    if not key:
        return "the Idempotency-Key header is empty"
    if len(key) > MAX_KEY_LENGTH:
        return f"an Idempotency-Key has at most {MAX_KEY_LENGTH} characters, got {len(key)}"
    if not all(" " <= c <= "~" for c in key):
        return "an Idempotency-Key holds printable ASCII characters only"
    return None


def parse_key(raw: str) -> str:
    """The key in a header value: a Structured Field string's quotes dropped (RFC 8941 §3.3.3)."""
    value = raw.strip()
    if len(value) >= 2 and value[0] == value[-1] == '"':
        return value[1:-1].replace('\\"', '"').replace("\\\\", "\\")
    return value


def key_lookup(credential: str, key: str) -> str:
    """The stored name of ``key`` as used by the holder of ``credential`` (a digest of both)."""
    return canonical_digest([credential, key])


def request_fingerprint(
    method: str, target: str, content_type: str, if_match: str, body: bytes
) -> str:
    """The SHA-256 naming one request; a retry of it has the same one, another request not.

    ``target`` is the path with its query string; a multipart body's boundary is replaced
    by a fixed word, so a client's retry with a freshly drawn boundary still matches.
    """
    media_type, boundary = _media_type(content_type)
    if boundary:
        body = body.replace(b"--" + boundary.encode("latin-1"), b"--boundary")
    digest = hashlib.sha256()
    for part in (method.upper(), target, media_type, if_match.strip()):
        encoded = part.encode("utf-8", "surrogateescape")
        digest.update(len(encoded).to_bytes(8, "big") + encoded)
    digest.update(body)
    return digest.hexdigest()


def _media_type(content_type: str) -> tuple[str, str]:
    """The media type, lower-cased without parameters, and the multipart boundary ("" if none)."""
    media_type, *parameters = content_type.split(";")
    boundary = ""
    for parameter in parameters:
        name, _, value = parameter.partition("=")
        if name.strip().lower() == "boundary":
            boundary = value.strip().strip('"')
    return media_type.strip().lower(), boundary


def is_expired(created_at: int, now: int) -> bool:
    """True once a key's 24 hours have passed."""
    return now >= created_at + KEEP_SECONDS


def expiry_cutoff(now: int) -> int:
    """Keys created at or before this time have expired."""
    return now - KEEP_SECONDS


def decide(stored: KeyState | None, fingerprint: str, now: int) -> Verdict:
    """Run or replay a request with this key, or refuse it (Conflict 409, InvalidInput 422)."""
    if stored is None or is_expired(stored.created_at, now):
        return Verdict.run
    if stored.fingerprint != fingerprint:
        raise InvalidInput(
            "this Idempotency-Key was used for a different request (another method, path or"
            " body) in the last 24 hours; use a new key for a new request",
            field="Idempotency-Key",
        )
    if stored.status is not None:
        return Verdict.replay
    if now >= stored.created_at + RUNNING_SECONDS:
        return Verdict.run  # abandoned: whoever ran it died before recording an outcome
    raise Conflict(
        "a request with this Idempotency-Key is still running; retry once it has finished"
    )


def is_kept(status: int) -> bool:
    """True when a response with ``status`` is kept for replay (2xx–4xx except 429)."""
    return status < 500 and status != 429


def replayed_headers(headers: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """The response headers worth keeping for a replay: Content-Type, Location, ETag and such."""
    return [
        (name, value)
        for name, value in headers
        if name.lower() not in _NOT_REPLAYED and not name.lower().startswith(_NOT_REPLAYED_PREFIXES)
    ]
