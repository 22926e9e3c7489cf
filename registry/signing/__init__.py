"""Signing keys, JWS and PAdES: the only code that touches private keys (DESIGN §4).

- ``keys``: key files on disk (root CA, signing keys), certificates, ``kid`` thumbprints, JWKs;
- ``validity``: whether a key may sign now, and whether it was valid at an issuance time;
- ``jws``: signed statements (compact JWS, ES256, canonical JSON);
- ``trust``: the trust bundle signed by the root, for offline verifiers;
- ``pades``: PAdES signing and inspection of certificate PDFs (imports pyHanko; load it lazily).

Nothing here reads or writes the database: the service stores each key's ``KeyRecord`` (kid,
status, not_before, not_after, sign_until, revoked_from, certificate PEM) and passes it in.
"""
