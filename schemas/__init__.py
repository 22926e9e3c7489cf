"""msgspec Structs of the public API: no Litestar, no Piccolo."""
