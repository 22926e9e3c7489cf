"""Signed material as published (DESIGN §4): the trust bundle, the JWK Set, a statement's claims.

These mirror what the signing layer builds (``registry.signing.trust``, ``registry.signing.keys``,
``registry.domain.statement``), so they keep its conventions rather than the rest of the API's:
times are integer UTC seconds, as JWS claims are (RFC 7519 §2 NumericDate), because the same
values are signed; and each Struct lists its fields in the order the signing code builds them, so
encoding the Struct gives the very bytes encoding the signing code's dict gave.
Unknown members are refused, so a member added by the signing code fails loudly here instead of
silently leaving the published copy.
"""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

from registry.domain.signing_key import SigningKeyStatus
from schemas.base import Response

NumericDate = Annotated[
    int,
    msgspec.Meta(ge=0, description="UTC time in whole seconds since 1970-01-01 (RFC 7519 §2)"),
]
Kid = Annotated[
    str,
    msgspec.Meta(
        pattern=r"^[A-Za-z0-9_-]{43}$",
        description="Key ID: the RFC 7638 SHA-256 thumbprint of the public key, base64url",
    ),
]
CertificatePem = Annotated[
    str, msgspec.Meta(description="An X.509 certificate, PEM-encoded (RFC 7468)")
]
Base64Der = Annotated[
    str,
    msgspec.Meta(
        pattern=r"^[A-Za-z0-9+/]+={0,2}$",
        description="A DER X.509 certificate in standard base64, not base64url (RFC 7517 §4.7)",
    ),
]
CompactJws = Annotated[
    str,
    msgspec.Meta(
        pattern=r"^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$",
        description="A compact JWS (RFC 7515 §7.1): header.payload.signature, each base64url",
    ),
]
Base64UrlSha256 = Annotated[
    str,
    msgspec.Meta(
        pattern=r"^[A-Za-z0-9_-]{43}$",
        description="A SHA-256 digest in base64url without padding (43 characters)",
    ),
]
# Product, version and supplier names in a statement are capped (registry.domain.statement).
CappedName = Annotated[str, msgspec.Meta(min_length=1, max_length=60)]


class TrustRoot(Response, frozen=True, forbid_unknown_fields=True):
    """The registry's root CA, which issues every signing certificate and signs the bundle."""

    certificate_pem: CertificatePem
    sha256: Annotated[
        str,
        msgspec.Meta(
            pattern=r"^[0-9a-f]{64}$",
            description="SHA-256 of the root certificate's DER, hex: the fingerprint to pin",
        ),
    ]


class TrustKey(Response, frozen=True, forbid_unknown_fields=True):
    """One signing key the registry has ever used, with its status; revoked keys stay listed."""

    kid: Kid
    status: SigningKeyStatus
    not_before: Annotated[
        NumericDate, msgspec.Meta(description="Start of its certificate's validity")
    ]
    not_after: Annotated[NumericDate, msgspec.Meta(description="End of its certificate's validity")]
    sign_until: Annotated[
        NumericDate, msgspec.Meta(description="After this it signs nothing new (rotation)")
    ]
    revoked_from: Annotated[
        NumericDate | None,
        msgspec.Meta(
            description=(
                "For a revoked key, the issuance time from which what it signed fails"
                " verification; null otherwise"
            )
        ),
    ]
    certificate_pem: CertificatePem


class TrustStatusEntry(Response, frozen=True, forbid_unknown_fields=True):
    """A certificate that is not valid as of the bundle's time (the status list, DESIGN §4)."""

    certificate_id: Annotated[str, msgspec.Meta(description="MKR-XXXX-XXXX-C")]
    status: Annotated[
        Literal["suspended", "revoked", "superseded"],
        msgspec.Meta(
            description="Its stored status; expired is never listed (see the statement's exp)"
        ),
    ]
    since: Annotated[NumericDate | None, msgspec.Meta(description="When it took this status")]
    reason: Annotated[str | None, msgspec.Meta(description="The reason code of the change")]
    superseded_by: Annotated[
        str | None, msgspec.Meta(description="The certificate that replaced it, if superseded")
    ]


class TrustDocument(Response, frozen=True, forbid_unknown_fields=True):
    """The trust bundle's content: the payload of ``signed``, repeated in plain JSON."""

    issuer: Annotated[str, msgspec.Meta(description="The registry's base URL")]
    issued_at: Annotated[
        NumericDate, msgspec.Meta(description="When this bundle was made: how old a copy is")
    ]
    root: TrustRoot
    keys: list[TrustKey]
    statuses: Annotated[
        list[TrustStatusEntry],
        msgspec.Meta(
            description="Every certificate not valid as of issued_at, by ID: an offline verifier"
            " refuses those (not good to go as of the bundle's time)"
        ),
    ]


class TrustBundle(Response, frozen=True, forbid_unknown_fields=True):
    """The signed trust bundle an offline verifier caches (DESIGN §4).

    Verify ``signed`` (``typ`` ``mkr-trust+jws``, its ``x5c`` the root certificate, pinned by
    its SHA-256) and use its payload; ``document`` is the same payload, for reading.
    """

    document: TrustDocument
    signed: Annotated[
        CompactJws,
        msgspec.Meta(
            description=(
                "The document as a compact JWS signed by the root (ES256): header"
                ' {"alg", "typ": "mkr-trust+jws", "kid", "x5c": [root DER]}, payload the'
                " document in canonical JSON"
            )
        ),
    ]


class Jwk(Response, frozen=True, forbid_unknown_fields=True):
    """One signing key as an RFC 7517 JWK, with its validity window and certificate chain."""

    kty: Annotated[Literal["EC"], msgspec.Meta(description="Key type (RFC 7518 §6.1)")]
    crv: Annotated[Literal["P-256"], msgspec.Meta(description="Curve (RFC 7518 §6.2.1.1)")]
    x: Annotated[str, msgspec.Meta(description="Public point x coordinate, base64url")]
    y: Annotated[str, msgspec.Meta(description="Public point y coordinate, base64url")]
    kid: Kid
    use: Annotated[Literal["sig"], msgspec.Meta(description="Public key use: signatures")]
    alg: Annotated[Literal["ES256"], msgspec.Meta(description="The only algorithm it signs with")]
    x5c: Annotated[
        list[Base64Der],
        msgspec.Meta(
            min_length=2,
            max_length=2,
            description="Its certificate chain: the signing certificate, then the root",
        ),
    ]
    status: Annotated[
        Literal["active", "retired"],
        msgspec.Meta(
            description="active: signs now; retired: signs no more, what it signed verifies"
        ),
    ]
    nbf: Annotated[NumericDate, msgspec.Meta(description="Start of its certificate's validity")]
    exp: Annotated[NumericDate, msgspec.Meta(description="End of its certificate's validity")]
    sign_until: Annotated[
        NumericDate, msgspec.Meta(description="After this it signs nothing new (rotation)")
    ]


class JwkSet(Response, frozen=True, forbid_unknown_fields=True):
    """The signing keys that are not revoked (RFC 7517 §5); revoked keys are only in the bundle."""

    keys: list[Jwk]


class StatementClaims(Response, frozen=True, forbid_unknown_fields=True):
    """The payload of a certificate's signed statement: short claims, so the JWS fits a QR code.

    The JWS header is exactly ``{"alg": "ES256", "typ": "mkr-certificate+jws", "kid"}``, ``kid``
    naming a key of the trust bundle; the payload is these claims in canonical JSON (sorted keys).
    Intended purpose, scope and outcomes are in the PDF and the registry record, pinned by ``dh``.
    """

    cid: Annotated[
        str,
        msgspec.Meta(
            pattern=r"^MKR-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]$",
            description="Certificate ID, normalised: MKR-XXXX-XXXX-C",
        ),
    ]
    cs: Annotated[str, msgspec.Meta(description="Criteria set assessed against, as key/version")]
    csh: Annotated[
        Base64UrlSha256, msgspec.Meta(description="SHA-256 of that criteria set, base64url")
    ]
    dh: Annotated[
        Base64UrlSha256,
        msgspec.Meta(description="SHA-256 of the frozen dossier revision assessed, base64url"),
    ]
    iat: Annotated[NumericDate, msgspec.Meta(description="Issued at (integer UTC seconds)")]
    exp: Annotated[
        NumericDate, msgspec.Meta(description="Valid until (integer UTC seconds), after iat")
    ]
    iss: Annotated[str, msgspec.Meta(description="Issuer: the registry's base URL")]
    pn: Annotated[
        CappedName,
        msgspec.Meta(description='Product name; past 60 characters, its first 59 and "…"'),
    ]
    pv: Annotated[
        CappedName,
        msgspec.Meta(description='Product version; past 60 characters, its first 59 and "…"'),
    ]
    sn: Annotated[
        CappedName,
        msgspec.Meta(description='Supplier name; past 60 characters, its first 59 and "…"'),
    ]
