"""Signing keys, JWS and PAdES: the only code that touches private keys (DESIGN §4)."""
