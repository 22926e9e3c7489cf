"""Who the client is, for rate limits: the peer, or X-Forwarded-For behind a trusted proxy."""

from __future__ import annotations

import ipaddress
from functools import cache
from typing import Any

from litestar import Request
from litestar.middleware.rate_limit import RateLimitConfig

from registry.settings import Settings, get_settings

# Paths anyone may call without a token: the ones a per-address limit protects.
PUBLIC_PREFIXES = (
    "/v1/verify",
    "/v1/directory",
    "/v1/certificates",
    "/v1/criteria-sets",
    "/v1/trust",
    "/v1/log",
    "/.well-known",
    "/v",
    "/directory",
    # Pages anyone may post to: the per-address limit bounds what a password-guesser costs
    # (every attempt, throttled or not, is an audit event).
    "/sign-in",
    "/invitations",
)


@cache
def _trusted(proxies: tuple[str, ...]) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    return tuple(ipaddress.ip_network(p, strict=False) for p in proxies)


def _is_trusted(address: str, proxies: tuple[str, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in _trusted(proxies))


def client_address(request: Request[Any, Any, Any], settings: Settings | None = None) -> str:
    """The client's address: X-Forwarded-For is believed only when the peer is a trusted proxy.

    Walking the header from the right, the first address that is not a trusted proxy is the
    client (anything further left could have been written by the client itself).
    """
    settings = settings or get_settings()
    peer = request.client.host if request.client else "unknown"
    if not settings.trusted_proxies or not _is_trusted(peer, settings.trusted_proxies):
        return peer
    hops = [h.strip() for h in request.headers.get("x-forwarded-for", "").split(",") if h.strip()]
    for hop in reversed(hops):
        if not _is_trusted(hop, settings.trusted_proxies):
            return hop
    return hops[0] if hops else peer


def _is_public(path: str) -> bool:
    return any(path == prefix or path.startswith(prefix + "/") for prefix in PUBLIC_PREFIXES)


def rate_limit_config(settings: Settings) -> RateLimitConfig:
    """Litestar's rate limit on public paths, per client address (in-process store).

    Addresses in ``REGISTRY_RATE_LIMIT_EXEMPT`` (monitoring, a load generator) are not counted:
    Litestar's limiter keeps every request time in the window, so a "raised" limit costs more
    per request the more requests it lets through.
    """

    def throttled(request: Request[Any, Any, Any]) -> bool:
        if not _is_public(request.url.path):
            return False
        exempt = settings.rate_limit_exempt
        return not (exempt and _is_trusted(client_address(request, settings), exempt))

    return RateLimitConfig(
        rate_limit=("minute", settings.public_rate_per_minute),
        identifier_for_request=lambda request: client_address(request, settings),
        check_throttle_handler=throttled,
    )
