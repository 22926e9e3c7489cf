"""HTTP layer: controllers, guards, dependency providers and the one error→HTTP mapping."""
