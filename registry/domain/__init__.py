"""Pure rules of the registry: no I/O, no Litestar, no Piccolo."""
