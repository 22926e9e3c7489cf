"""Kitemark Registry: assessed health technology and signed "good to go" certificates."""
